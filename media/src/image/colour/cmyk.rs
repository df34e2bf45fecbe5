//! CMYK masters: ink amounts through the master's CMYK profile to sRGB.

use image::RgbImage;
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

use caravan_proto::{ImageProfile, NAIVE_CMYK};

use super::outcome::{profile_name, ColourOutcome};

/// Width, height and ink amounts (C, M, Y, K per pixel) of a decoded CMYK master.
#[derive(Debug)]
pub struct Ink {
    pub width: u32,
    pub height: u32,
    pub cmyk: Vec<u8>,
}

/// Whether `icc` is a CMYK profile (the master's pixels must then be read as ink amounts:
/// [`crate::image::decode::cmyk`]).
pub fn is_cmyk(icc: &[u8]) -> bool {
    ColorProfile::new_from_slice(icc).is_ok_and(|p| p.color_space == DataColorSpace::Cmyk)
}

/// 8-bit sRGB pixels of a CMYK master (`ink`: C, M, Y, K per pixel, 0 = no ink) through its
/// CMYK profile `icc`, relative colorimetric (colours inside sRGB are kept exactly; the result
/// equals Little CMS's `-t1`). If the profile cannot be applied, the usual formula
/// (R = (1 − C)(1 − K) …) is used and the receipt says so.
pub fn cmyk_to_srgb8(ink: &Ink, source: CmykProfile<'_>) -> (RgbImage, ColourOutcome) {
    let icc = match source {
        CmykProfile::Embedded(icc) | CmykProfile::Assumed { icc, .. } => icc,
    };
    let (w, h) = (ink.width, ink.height);
    let formula = || {
        let rgb = ink
            .cmyk
            .chunks_exact(4)
            .flat_map(|p| {
                let k = 255 - u32::from(p[3]);
                [0, 1, 2].map(|c| ((255 - u32::from(p[c])) * k / 255) as u8)
            })
            .collect();
        RgbImage::from_raw(w, h, rgb).expect("sizes match")
    };
    let profile = match ColorProfile::new_from_slice(icc) {
        Ok(p) => p,
        Err(e) => {
            return (
                formula(),
                ColourOutcome::Ignored(format!("unreadable: {e:?}")),
            )
        }
    };
    let name = profile_name(&profile);
    let options = TransformOptions {
        rendering_intent: moxcms::RenderingIntent::RelativeColorimetric,
        ..TransformOptions::default()
    };
    let transform = match profile.create_transform_8bit(
        Layout::Rgba,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        options,
    ) {
        Ok(t) => t,
        Err(e) => {
            return (
                formula(),
                ColourOutcome::Ignored(format!("cannot build the CMYK transform: {e:?}")),
            )
        }
    };
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    if let Err(e) = transform.transform(&ink.cmyk, &mut rgb) {
        return (
            formula(),
            ColourOutcome::Ignored(format!("CMYK transform failed: {e:?}")),
        );
    }
    let outcome = match source {
        CmykProfile::Embedded(_) => ColourOutcome::Converted(name),
        CmykProfile::Assumed { path, .. } => ColourOutcome::AssumedCmyk {
            name,
            path: path.to_owned(),
        },
    };
    (RgbImage::from_raw(w, h, rgb).expect("sizes match"), outcome)
}

/// The profile a CMYK master's ink amounts are converted through.
#[derive(Debug, Clone, Copy)]
pub enum CmykProfile<'a> {
    /// The master's own.
    Embedded(&'a [u8]),
    /// The one the image profile assumes for masters without one, read from `path`.
    Assumed { icc: &'a [u8], path: &'a str },
}

/// The CMYK profile `image` assumes for CMYK masters that embed none (`None`: the naive
/// formula), read and checked; the error says what to do.
pub fn default_cmyk_profile(image: &ImageProfile) -> Result<Option<Vec<u8>>, String> {
    let path = image.cmyk_default_profile.as_str();
    if path == NAIVE_CMYK {
        return Ok(None);
    }
    let icc = std::fs::read(path).map_err(|e| {
        format!("image.cmyk_default_profile {path}: {e}; install Debian's libgs-common (Ghostscript's profiles), name another CMYK profile, or set it to \"naive\"")
    })?;
    if !is_cmyk(&icc) {
        return Err(format!(
            "image.cmyk_default_profile {path} is not a CMYK ICC profile; name a CMYK (press) profile, or set it to \"naive\""
        ));
    }
    Ok(Some(icc))
}

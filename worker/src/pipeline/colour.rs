//! Colour: every derivative is 8-bit sRGB, tagged as such.
//!
//! A master's embedded ICC profile (RGB or grey) is honoured: pixels go through a 16-bit
//! transform to sRGB (moxcms), then to 8 bits with rounding, so 16-bit masters do not band. A
//! master without a profile is taken as sRGB. A profile that cannot be parsed or applied is
//! reported in the receipt and the pixels are taken as sRGB, rather than failing the asset.
//! Alpha is composited on white.

use image::{DynamicImage, ImageBuffer, Rgb, RgbImage};
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

/// What happened to the master's colour, for the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColourOutcome {
    /// No embedded profile: taken as sRGB.
    AssumedSrgb,
    /// Converted from the embedded profile (its description, if any).
    Converted(String),
    /// The embedded profile could not be used; taken as sRGB.
    Ignored(String),
}

impl ColourOutcome {
    pub fn describe(&self) -> String {
        match self {
            ColourOutcome::AssumedSrgb => "no embedded profile; taken as sRGB".into(),
            ColourOutcome::Converted(name) => {
                format!("converted to sRGB from embedded profile {name}")
            }
            ColourOutcome::Ignored(why) => {
                format!("embedded profile ignored ({why}); taken as sRGB")
            }
        }
    }
}

/// 8-bit sRGB pixels of `image`, honouring `icc`.
pub fn to_srgb8(image: DynamicImage, icc: Option<&[u8]>) -> (RgbImage, ColourOutcome) {
    let Some(icc) = icc else {
        return (flatten8(image), ColourOutcome::AssumedSrgb);
    };
    let profile = match ColorProfile::new_from_slice(icc) {
        Ok(p) => p,
        Err(e) => {
            return (
                flatten8(image),
                ColourOutcome::Ignored(format!("unreadable: {e:?}")),
            )
        }
    };
    let layout = match profile.color_space {
        DataColorSpace::Rgb => Layout::Rgb,
        DataColorSpace::Gray => Layout::Gray,
        other => {
            return (
                flatten8(image),
                ColourOutcome::Ignored(format!("{other:?} profiles are not applied yet")),
            )
        }
    };
    let name = profile
        .description
        .as_ref()
        .map(|d| format!("{d:?}"))
        .unwrap_or_else(|| "(unnamed)".into());
    let srgb = ColorProfile::new_srgb();
    let transform = match profile.create_transform_16bit(
        layout,
        &srgb,
        Layout::Rgb,
        TransformOptions::default(),
    ) {
        Ok(t) => t,
        Err(e) => {
            return (
                flatten8(image),
                ColourOutcome::Ignored(format!("cannot build the transform: {e:?}")),
            )
        }
    };
    let (w, h) = (image.width(), image.height());
    let source: Vec<u16> = match layout {
        Layout::Gray => flatten16(image).pixels().map(|p| luma16(p.0)).collect(),
        _ => flatten16(image).into_raw(),
    };
    let mut out = vec![0u16; (w as usize) * (h as usize) * 3];
    if let Err(e) = transform.transform(&source, &mut out) {
        // The source pixels are gone into `source`; rebuild them 8-bit for the fallback.
        let fallback = match layout {
            Layout::Gray => RgbImage::from_fn(w, h, |x, y| {
                let v = to8(source[(y as usize) * (w as usize) + x as usize]);
                Rgb([v, v, v])
            }),
            _ => RgbImage::from_raw(w, h, source.iter().map(|&v| to8(v)).collect())
                .expect("sizes match"),
        };
        return (
            fallback,
            ColourOutcome::Ignored(format!("transform failed: {e:?}")),
        );
    }
    let rgb = RgbImage::from_raw(w, h, out.into_iter().map(to8).collect()).expect("sizes match");
    (rgb, ColourOutcome::Converted(name))
}

/// The sRGB ICC profile embedded in every derivative.
pub fn srgb_icc() -> &'static [u8] {
    static ICC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ICC.get_or_init(|| ColorProfile::new_srgb().encode().unwrap_or_default())
}

fn to8(v: u16) -> u8 {
    ((u32::from(v) * 255 + 32_767) / 65_535) as u8
}

fn luma16(rgb: [u16; 3]) -> u16 {
    // The grey pixels were widened to RGB by `flatten16`; any channel holds the value.
    rgb[0]
}

fn flatten8(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut rgb = RgbImage::new(w, h);
    for (src, dst) in rgba.pixels().zip(rgb.pixels_mut()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            dst[c] = ((u32::from(src[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    rgb
}

fn flatten16(image: DynamicImage) -> ImageBuffer<Rgb<u16>, Vec<u16>> {
    if !image.color().has_alpha() {
        return image.into_rgb16();
    }
    let rgba = image.into_rgba16();
    let (w, h) = rgba.dimensions();
    let mut rgb = ImageBuffer::<Rgb<u16>, Vec<u16>>::new(w, h);
    for (src, dst) in rgba.pixels().zip(rgb.pixels_mut()) {
        let a = u64::from(src[3]);
        for c in 0..3 {
            dst[c] = ((u64::from(src[c]) * a + 65_535 * (65_535 - a) + 32_767) / 65_535) as u16;
        }
    }
    rgb
}

//! Colour: every derivative is 8-bit sRGB, tagged as such.
//!
//! A master's embedded ICC profile (RGB or grey; CMYK through [`cmyk_to_srgb8`]) is honoured: pixels go through a 16-bit
//! transform to sRGB (moxcms), then to 8 bits with rounding, so 16-bit masters do not band. A
//! master without a profile is taken as sRGB. A profile that cannot be parsed or applied is
//! reported in the receipt and the pixels are taken as sRGB, rather than failing the asset.
//! Alpha is composited on white.

use image::{DynamicImage, ImageBuffer, Rgb, RgbImage};
use moxcms::{ColorProfile, DataColorSpace, Layout, Transform16BitExecutor, TransformOptions};

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
    let mut convert = ToSrgb8::new(icc);
    let rgb = convert.convert(image);
    (rgb, convert.outcome)
}

/// The conversion of one master's pixels to 8-bit sRGB, its transform built once, so that a
/// master read band by band ([`super::tiff_bands`]) converts each band exactly as a whole
/// image would be converted (every step is per pixel).
pub struct ToSrgb8 {
    /// The profile's 16-bit transform and its source layout; `None`: taken as sRGB.
    transform: Option<(std::sync::Arc<Transform16BitExecutor>, Layout)>,
    pub outcome: ColourOutcome,
}

impl std::fmt::Debug for ToSrgb8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToSrgb8")
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl ToSrgb8 {
    pub fn new(icc: Option<&[u8]>) -> Self {
        let taken_as_srgb = |outcome| Self {
            transform: None,
            outcome,
        };
        let Some(icc) = icc else {
            return taken_as_srgb(ColourOutcome::AssumedSrgb);
        };
        let profile = match ColorProfile::new_from_slice(icc) {
            Ok(p) => p,
            Err(e) => return taken_as_srgb(ColourOutcome::Ignored(format!("unreadable: {e:?}"))),
        };
        let layout = match profile.color_space {
            DataColorSpace::Rgb => Layout::Rgb,
            DataColorSpace::Gray => Layout::Gray,
            other => {
                return taken_as_srgb(ColourOutcome::Ignored(format!(
                    "{other:?} profiles are not applied yet"
                )))
            }
        };
        let srgb = ColorProfile::new_srgb();
        match profile.create_transform_16bit(
            layout,
            &srgb,
            Layout::Rgb,
            TransformOptions::default(),
        ) {
            Ok(t) => Self {
                transform: Some((t, layout)),
                outcome: ColourOutcome::Converted(profile_name(&profile)),
            },
            Err(e) => taken_as_srgb(ColourOutcome::Ignored(format!(
                "cannot build the transform: {e:?}"
            ))),
        }
    }

    /// `image` (any size: a whole master or a band of its rows) as 8-bit sRGB. If the
    /// transform fails, the pixels are taken as sRGB and [`Self::outcome`] says so.
    pub fn convert(&mut self, image: DynamicImage) -> RgbImage {
        let Some((transform, layout)) = &self.transform else {
            return flatten8(image);
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
            self.outcome = ColourOutcome::Ignored(format!("transform failed: {e:?}"));
            self.transform = None;
            return fallback;
        }
        RgbImage::from_raw(w, h, out.into_iter().map(to8).collect()).expect("sizes match")
    }
}

/// Full-range BT.601 YCbCr (JFIF, as JPEG streams hold it) to RGB.
pub fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [
        clamp(y + 1.402 * cr),
        clamp(y - 0.344_136 * cb - 0.714_136 * cr),
        clamp(y + 1.772 * cb),
    ]
}

/// The profile's description as people read it ("Display P3", "U.S. Web Coated (SWOP) v2"),
/// quoted; `(unnamed)` without one.
fn profile_name(profile: &ColorProfile) -> String {
    use moxcms::ProfileText;
    let text = match &profile.description {
        Some(ProfileText::PlainString(s)) => s.clone(),
        Some(ProfileText::Localizable(list)) => list
            .iter()
            .find(|l| l.language == "en")
            .or(list.first())
            .map(|l| l.value.clone())
            .unwrap_or_default(),
        Some(ProfileText::Description(d)) if !d.ascii_string.is_empty() => d.ascii_string.clone(),
        Some(ProfileText::Description(d)) => d.unicode_string.clone(),
        None => String::new(),
    };
    let text = text.trim_matches(char::from(0)).trim();
    if text.is_empty() {
        "(unnamed)".into()
    } else {
        format!("{text:?}")
    }
}

/// Whether `icc` is a CMYK profile (the master's pixels must then be read as ink amounts:
/// [`super::cmyk`]).
pub fn is_cmyk(icc: &[u8]) -> bool {
    ColorProfile::new_from_slice(icc).is_ok_and(|p| p.color_space == DataColorSpace::Cmyk)
}

/// 8-bit sRGB pixels of a CMYK master (`ink`: C, M, Y, K per pixel, 0 = no ink) through its
/// CMYK profile `icc`, relative colorimetric (colours inside sRGB are kept exactly; the result
/// equals Little CMS's `-t1`). If the profile cannot be applied, the usual formula
/// (R = (1 − C)(1 − K) …) is used and the receipt says so.
pub fn cmyk_to_srgb8(ink: &super::cmyk::Ink, icc: &[u8]) -> (RgbImage, ColourOutcome) {
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
    (
        RgbImage::from_raw(w, h, rgb).expect("sizes match"),
        ColourOutcome::Converted(name),
    )
}

/// The sRGB ICC profile embedded in every derivative: moxcms's v4 sRGB profile, made valid
/// and reproducible by [`normalise_icc`].
pub fn srgb_icc() -> &'static [u8] {
    static ICC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ICC.get_or_init(|| {
        ColorProfile::new_srgb()
            .encode()
            .map(normalise_icc)
            .unwrap_or_default()
    })
}

/// The ICC creation date every derivative's profile carries (2026-01-01 00:00:00): a profile
/// stamped with the time it was made would give every run different bytes.
const ICC_DATE: [u16; 6] = [2026, 1, 1, 0, 0, 0];

/// Fixes what moxcms's encoder writes against the ICC specification (ICC.1:2022) and
/// reproducibility: the profile-connection-space illuminant must be D50 exactly (it writes a
/// computed near-D50 that libpng rejects), each tag must start on a 4-byte boundary (it packs
/// them), and the creation date is the current time (set to [`ICC_DATE`]). Tag data is laid
/// out again in table order, shared data kept shared; the profile ID is left 0 (not computed).
pub fn normalise_icc(icc: Vec<u8>) -> Vec<u8> {
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(icc.get(at..at + 4)?.try_into().ok()?))
    };
    let Some(count) = be32(128) else { return icc };
    let mut tags = Vec::new();
    for k in 0..count as usize {
        let at = 132 + 12 * k;
        let (Some(sig), Some(offset), Some(size)) = (be32(at), be32(at + 4), be32(at + 8)) else {
            return icc;
        };
        if icc.get(offset as usize..(offset + size) as usize).is_none() {
            return icc;
        }
        tags.push((sig, offset as usize, size as usize));
    }
    let mut out = icc[..128].to_vec();
    // D50 in s15Fixed16Number: 0.9642, 1.0, 0.8249.
    for (k, v) in [0x0000_F6D6u32, 0x0001_0000, 0x0000_D32D]
        .iter()
        .enumerate()
    {
        out[68 + 4 * k..72 + 4 * k].copy_from_slice(&v.to_be_bytes());
    }
    for (k, v) in ICC_DATE.iter().enumerate() {
        out[24 + 2 * k..26 + 2 * k].copy_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&count.to_be_bytes());
    let table = out.len();
    out.resize(table + 12 * tags.len(), 0);
    let mut placed: Vec<((usize, usize), usize)> = Vec::new();
    for (k, &(sig, offset, size)) in tags.iter().enumerate() {
        let new_offset = match placed.iter().find(|(old, _)| *old == (offset, size)) {
            Some(&(_, at)) => at,
            None => {
                while !out.len().is_multiple_of(4) {
                    out.push(0);
                }
                let at = out.len();
                out.extend_from_slice(&icc[offset..offset + size]);
                placed.push(((offset, size), at));
                at
            }
        };
        let entry = table + 12 * k;
        out[entry..entry + 4].copy_from_slice(&sig.to_be_bytes());
        out[entry + 4..entry + 8].copy_from_slice(&(new_offset as u32).to_be_bytes());
        out[entry + 8..entry + 12].copy_from_slice(&(size as u32).to_be_bytes());
    }
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    let size = out.len() as u32;
    out[0..4].copy_from_slice(&size.to_be_bytes());
    out
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

//! RGB and grey pixels to 8-bit sRGB through the master's embedded profile (a 16-bit transform,
//! then rounding to 8 bits, so 16-bit masters do not band); alpha composited on white.

use image::{DynamicImage, ImageBuffer, Rgb, RgbImage};
use moxcms::{ColorProfile, DataColorSpace, Layout, Transform16BitExecutor, TransformOptions};

use super::outcome::{profile_name, ColourOutcome};

/// 8-bit sRGB pixels of `image`, honouring `icc`.
pub fn to_srgb8(image: DynamicImage, icc: Option<&[u8]>) -> (RgbImage, ColourOutcome) {
    let mut convert = ToSrgb8::new(icc);
    let rgb = convert.convert(image);
    (rgb, convert.outcome)
}

/// The conversion of one master's pixels to 8-bit sRGB, its transform built once, so that a
/// master read band by band ([`crate::image::decode::tiff::bands`]) converts each band exactly as a whole
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

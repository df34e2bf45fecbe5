//! Writing derivative files: JPEG (baseline or progressive, SIMD encoder) and lossy WebP
//! (libwebp). Every file carries pixels in sRGB and nothing else: the JPEGs embed the sRGB
//! profile, WebP without a profile is sRGB by definition; no EXIF, so no GPS or camera serials.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::OutputName;
use image::RgbImage;

use super::PipelineError;

/// How a JPEG is encoded.
#[derive(Debug, Clone, Copy)]
pub struct Jpeg {
    pub quality: u8,
    /// Several scans, coarse to fine: browsers on slow links show the whole image early.
    pub progressive: bool,
}

/// Encodes `image` as `out_dir/name`.
pub fn write_jpeg(
    image: &RgbImage,
    out_dir: &Path,
    name: &str,
    options: Jpeg,
) -> Result<ExecOutput, PipelineError> {
    let (width, height) = dimensions_u16(image, name)?;
    let mut bytes = Vec::with_capacity(image.as_raw().len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, options.quality.clamp(1, 100));
    encoder.set_progressive(options.progressive);
    encoder
        .add_icc_profile(super::colour::srgb_icc())
        .map_err(|e| PipelineError::Encode(format!("JPEG {name}: {e}")))?;
    encoder
        .encode(image.as_raw(), width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PipelineError::Encode(format!("JPEG {name}: {e}")))?;
    write_file(out_dir, name, &bytes)?;
    Ok(record(name, "image/jpeg", image))
}

/// Encodes `image` as a lossy WebP `out_dir/name` (libwebp, `quality` 1–100).
pub fn write_webp(
    image: &RgbImage,
    out_dir: &Path,
    name: &str,
    quality: u8,
) -> Result<ExecOutput, PipelineError> {
    let (w, h) = image.dimensions();
    if w.max(h) > WEBP_MAX_EDGE {
        return Err(PipelineError::Encode(format!(
            "WebP {name}: {w}×{h} exceeds WebP's {WEBP_MAX_EDGE} px limit; lower the profile's sizes or turn webp off"
        )));
    }
    let encoded = webp::Encoder::from_rgb(image.as_raw(), w, h)
        .encode_simple(false, f32::from(quality.clamp(1, 100)))
        .map_err(|e| PipelineError::Encode(format!("WebP {name}: {e:?}")))?;
    write_file(out_dir, name, &encoded)?;
    Ok(record(name, "image/webp", image))
}

/// The largest width or height a WebP can have.
pub const WEBP_MAX_EDGE: u32 = 16_383;

fn dimensions_u16(image: &RgbImage, name: &str) -> Result<(u16, u16), PipelineError> {
    let (w, h) = image.dimensions();
    match (u16::try_from(w), u16::try_from(h)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(PipelineError::Encode(format!(
            "JPEG {name}: {w}×{h} exceeds JPEG's 65535 px limit; lower the profile's sizes"
        ))),
    }
}

/// Writes and syncs `bytes` as `out_dir/name`, creating folders inside `out_dir` as needed.
fn write_file(out_dir: &Path, name: &str, bytes: &[u8]) -> Result<(), PipelineError> {
    let path = out_dir.join(name);
    let err = |source| PipelineError::Output {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mut writer = BufWriter::new(File::create(&path).map_err(err)?);
    writer.write_all(bytes).map_err(err)?;
    let file = writer.into_inner().map_err(|e| err(e.into_error()))?;
    file.sync_all().map_err(err)
}

fn record(name: &str, media_type: &str, image: &RgbImage) -> ExecOutput {
    ExecOutput {
        name: OutputName::parse(name).expect("pipelines name their outputs validly"),
        media_type: media_type.into(),
        width: Some(image.width()),
        height: Some(image.height()),
        duration_seconds: None,
    }
}

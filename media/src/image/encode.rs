//! Writing derivative files: JPEG (baseline or progressive, SIMD encoder) and lossy WebP
//! (libwebp). Every file carries pixels in sRGB and nothing else from the master: the JPEGs
//! embed the sRGB profile, WebP without a profile is sRGB by definition; no EXIF, so no GPS or
//! camera serials. The submission's own title, creator and rights go in as XMP when given
//! ([`super::xmp`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::OutputName;
use image::RgbImage;

use crate::error::PipelineError;

/// How a JPEG is encoded.
#[derive(Debug, Clone, Copy)]
pub struct Jpeg<'a> {
    pub quality: u8,
    /// Several scans, coarse to fine: browsers on slow links show the whole image early.
    pub progressive: bool,
    /// An XMP packet to embed (APP1).
    pub xmp: Option<&'a [u8]>,
}

/// The APP1 identifier of an XMP packet.
const XMP_JPEG_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// Encodes `image` as `out_dir/name`.
pub fn write_jpeg(
    image: &RgbImage,
    out_dir: &Path,
    name: &str,
    options: Jpeg<'_>,
) -> Result<ExecOutput, PipelineError> {
    let (width, height) = dimensions_u16(image, name)?;
    let mut bytes = Vec::with_capacity(image.as_raw().len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, options.quality.clamp(1, 100));
    encoder.set_progressive(options.progressive);
    encoder
        .add_icc_profile(super::colour::srgb_icc())
        .map_err(|e| PipelineError::Encode(format!("JPEG {name}: {e}")))?;
    if let Some(xmp) = options.xmp {
        encoder
            .add_app_segment(1, &[XMP_JPEG_ID, xmp].concat())
            .map_err(|e| PipelineError::Encode(format!("JPEG {name} XMP: {e}")))?;
    }
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
    xmp: Option<&[u8]>,
) -> Result<ExecOutput, PipelineError> {
    let (w, h) = image.dimensions();
    if w.max(h) > WEBP_MAX_EDGE {
        return Err(PipelineError::Encode(format!(
            "WebP {name}: {w}×{h} exceeds WebP's {WEBP_MAX_EDGE} px limit; lower the profile's sizes or turn webp off"
        )));
    }
    let mut config = webp::WebPConfig::new().map_err(|()| {
        PipelineError::Encode(format!("WebP {name}: libwebp's version does not match"))
    })?;
    config.quality = f32::from(quality.clamp(1, 100));
    // Analysis and filtering on a second thread; the bytes are the same as on one.
    config.thread_level = 1;
    let encoded = webp::Encoder::from_rgb(image.as_raw(), w, h)
        .encode_advanced(&config)
        .map_err(|e| PipelineError::Encode(format!("WebP {name}: {e:?}")))?;
    match xmp {
        Some(xmp) => write_file(out_dir, name, &webp_with_xmp(&encoded, w, h, xmp))?,
        None => write_file(out_dir, name, &encoded)?,
    }
    Ok(record(name, "image/webp", image))
}

/// A simple WebP file (`RIFF`, `WEBP`, one `VP8 `/`VP8L` chunk) turned into the extended
/// format that can carry metadata: a `VP8X` header with the XMP flag, the image chunk, then an
/// `XMP ` chunk.
fn webp_with_xmp(simple: &[u8], width: u32, height: u32, xmp: &[u8]) -> Vec<u8> {
    let image_chunks = &simple[12..];
    let chunk = |kind: &[u8; 4], body: &[u8]| {
        let mut c = kind.to_vec();
        c.extend_from_slice(&(body.len() as u32).to_le_bytes());
        c.extend_from_slice(body);
        if body.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let mut vp8x = vec![0x04, 0, 0, 0]; // flags: XMP
    vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    let body = [
        &b"WEBP"[..],
        &chunk(b"VP8X", &vp8x),
        image_chunks,
        &chunk(b"XMP ", xmp),
    ]
    .concat();
    [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat()
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

#[cfg(test)]
mod tests;

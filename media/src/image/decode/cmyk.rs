//! CMYK masters that carry a CMYK ICC profile (print and publishing workflows, catalogue scans):
//! decoded to ink amounts (0 = no ink) for [`crate::image::colour::cmyk_to_srgb8`], which converts them
//! through the profile. The `image` crate would instead turn CMYK into RGB by a formula that
//! knows nothing of the press the profile describes.
//!
//! JPEG: Adobe applications store CMYK inverted (an APP14 `Adobe` segment says so) and often
//! behind a YCCK transform (YCbCr over the inverted C, M, Y; K as stored); both are undone here.
//! TIFF: separated samples, 8 or 16 bits, 0 = no ink (16-bit samples are rounded to 8).

use std::path::Path;

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use caravan_proto::Profile;
use image::DynamicImage;

use crate::error::PipelineError;
use crate::image::colour::{cmyk_to_srgb8, ycbcr_to_rgb, CmykProfile, Ink};
use crate::image::decoded::{describe, Decoded};

fn bad(format: &str, detail: impl std::fmt::Display) -> PipelineError {
    PipelineError::Undecodable {
        format: format.to_owned(),
        detail: detail.to_string(),
    }
}

/// The transform byte of the JPEG's APP14 `Adobe` segment, if it has one (0: CMYK as stored,
/// 2: YCCK).
fn adobe_transform(jpeg: &[u8]) -> Option<u8> {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            return None; // start of scan: no more header segments
        }
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let body = jpeg.get(at + 4..at + 2 + length)?;
        if marker == 0xEE && body.starts_with(b"Adobe") && body.len() >= 12 {
            return Some(body[11]);
        }
        at += 2 + length;
    }
    None
}

/// Decodes a CMYK or YCCK JPEG to ink amounts.
pub fn jpeg(data: &[u8], max_dimension: u32) -> Result<Ink, PipelineError> {
    let adobe = adobe_transform(data);
    let probe = |out: ColorSpace| {
        DecoderOptions::default()
            .set_max_width(max_dimension as usize)
            .set_max_height(max_dimension as usize)
            .jpeg_set_out_colorspace(out)
    };
    let mut decoder =
        zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), probe(ColorSpace::CMYK));
    decoder.decode_headers().map_err(|e| bad("jpeg", e))?;
    let input = decoder
        .input_colorspace()
        .ok_or_else(|| bad("jpeg", "no colour space in the header"))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| bad("jpeg", "no dimensions in the header"))?;
    // Four components come back as stored (no conversion between equal colour spaces).
    decoder.set_options(probe(input));
    let mut samples = decoder.decode().map_err(|e| bad("jpeg", e))?;
    match input {
        ColorSpace::YCCK => {
            for px in samples.chunks_exact_mut(4) {
                // The YCbCr of the inverted C, M, Y: stored C = 255 − R, and so on.
                let rgb = ycbcr_to_rgb(px[0], px[1], px[2]);
                for (stored, v) in px.iter_mut().zip(rgb) {
                    *stored = 255 - v;
                }
            }
        }
        ColorSpace::CMYK => {}
        other => {
            return Err(PipelineError::Unsupported(format!(
                "jpeg with a CMYK profile but {other:?} samples"
            )))
        }
    }
    if adobe.is_some() || input == ColorSpace::YCCK {
        for v in &mut samples {
            *v = 255 - *v;
        }
    }
    let expected = width * height * 4;
    if samples.len() < expected {
        return Err(bad(
            "jpeg",
            "the decoder returned fewer samples than the header declares",
        ));
    }
    samples.truncate(expected);
    Ok(Ink {
        width: width as u32,
        height: height as u32,
        cmyk: samples,
    })
}

/// Decodes a separated (CMYK) TIFF to ink amounts.
pub fn tiff(input: &Path) -> Result<Ink, PipelineError> {
    use tiff::decoder::{Decoder, DecodingResult};
    let file = std::fs::File::open(input).map_err(|e| bad("tiff", e))?;
    let mut decoder = Decoder::new(std::io::BufReader::new(file)).map_err(|e| bad("tiff", e))?;
    let (width, height) = decoder.dimensions().map_err(|e| bad("tiff", e))?;
    let cmyk = match decoder.read_image().map_err(|e| bad("tiff", e))? {
        DecodingResult::U8(samples) => samples,
        DecodingResult::U16(samples) => samples
            .into_iter()
            .map(|v| ((u32::from(v) * 255 + 32_767) / 65_535) as u8)
            .collect(),
        _ => {
            return Err(PipelineError::Unsupported(
                "tiff (CMYK samples that are neither 8 nor 16 bits)".into(),
            ))
        }
    };
    Ok(Ink {
        width,
        height,
        cmyk,
    })
}

/// A CMYK JPEG or TIFF: its ink amounts ([`jpeg`], [`tiff`]) through its own CMYK profile or
/// the one the image profile assumes, to sRGB.
pub fn decode(
    input: &Path,
    format: &str,
    icc: CmykProfile<'_>,
    orientation: image::metadata::Orientation,
    profile: &Profile,
) -> Result<Decoded, PipelineError> {
    let ink = if format == "jpeg" {
        let data = std::fs::read(input).map_err(|e| PipelineError::Undecodable {
            format: "jpeg".into(),
            detail: e.to_string(),
        })?;
        jpeg(&data, profile.limits.max_dimension)?
    } else {
        tiff(input)?
    };
    let (rgb, colour) = cmyk_to_srgb8(&ink, icc);
    let (width, height) = (ink.width, ink.height);
    drop(ink);
    let mut image = DynamicImage::ImageRgb8(rgb);
    image.apply_orientation(orientation);
    let info = describe(
        format,
        (width, height),
        "Cmyk8".into(),
        orientation,
        &colour,
    );
    Ok((image.into_rgb8(), info))
}

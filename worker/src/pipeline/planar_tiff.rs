//! TIFFs stored plane by plane (`PlanarConfiguration` = 2: all the red samples, then all the
//! green, then all the blue), tiled or in strips. Scanners and some archive workflows write them;
//! the `image` crate's TIFF reader does not assemble them (it panics on the tiled ones), so each
//! chunk — one plane of one tile or strip — is read with the `tiff` crate and interleaved here.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use image::{DynamicImage, ImageBuffer};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;
use tiff::ColorType;

use super::PipelineError;

fn bad(e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Undecodable {
        format: "tiff".into(),
        detail: e.to_string(),
    }
}

/// What the header of a planar TIFF says, read before any pixel.
#[derive(Debug)]
pub struct Planar {
    pub width: u32,
    pub height: u32,
    pub samples: u16,
    pub bits: u8,
    pub icc: Option<Vec<u8>>,
    /// The TIFF `Orientation` tag (1–8), if any.
    pub orientation: Option<u8>,
}

/// `Some` when `input` is a TIFF whose first image is stored plane by plane.
pub fn probe(input: &Path) -> Result<Option<Planar>, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let Ok(mut decoder) = Decoder::new(BufReader::new(file)) else {
        return Ok(None); // not for us: the image crate reports what is wrong
    };
    header(&mut decoder)
}

fn header<R: Read + Seek>(decoder: &mut Decoder<R>) -> Result<Option<Planar>, PipelineError> {
    let planar = decoder
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(bad)?;
    if planar != Some(2) {
        return Ok(None);
    }
    let (width, height) = decoder.dimensions().map_err(bad)?;
    let (samples, bits) = match decoder.colortype().map_err(bad)? {
        ColorType::Gray(b) => (1, b),
        ColorType::GrayA(b) => (2, b),
        ColorType::RGB(b) => (3, b),
        ColorType::RGBA(b) => (4, b),
        other => {
            return Err(PipelineError::Unsupported(format!(
                "planar TIFF in {other:?}"
            )))
        }
    };
    if !matches!(bits, 8 | 16) {
        return Err(PipelineError::Unsupported(format!(
            "planar TIFF with {bits}-bit samples"
        )));
    }
    let icc = match decoder.find_tag(Tag::IccProfile).map_err(bad)? {
        Some(value) => Some(value.into_u8_vec().map_err(bad)?),
        None => None,
    };
    let orientation = decoder
        .find_tag_unsigned::<u8>(Tag::Orientation)
        .ok()
        .flatten();
    Ok(Some(Planar {
        width,
        height,
        samples,
        bits,
        icc,
        orientation,
    }))
}

/// Decodes the planar TIFF `input` ([`probe`] said so) to interleaved samples; alpha is kept
/// for the colour conversion to composite.
pub fn decode(input: &Path, header: &Planar) -> Result<DynamicImage, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(bad)?;
    let (width, height) = (header.width as usize, header.height as usize);
    let samples = usize::from(header.samples);
    let (chunk_w, chunk_h) = decoder.chunk_dimensions();
    let (chunk_w, chunk_h) = (chunk_w.max(1) as usize, chunk_h.max(1) as usize);
    let across = width.div_ceil(chunk_w);
    let down = height.div_ceil(chunk_h);
    let per_plane = across * down;
    let mut out = vec![0u16; width * height * samples];
    for plane in 0..samples {
        for chunk in 0..per_plane {
            let index = u32::try_from(plane * per_plane + chunk).map_err(bad)?;
            let (dw, dh) = decoder.chunk_data_dimensions(index);
            let (dw, dh) = (dw as usize, dh as usize);
            let data: Vec<u16> = match decoder.read_chunk(index).map_err(bad)? {
                DecodingResult::U8(v) => v.into_iter().map(u16::from).collect(),
                DecodingResult::U16(v) => v,
                _ => return Err(PipelineError::Unsupported("planar TIFF sample type".into())),
            };
            if data.len() < dw * dh {
                return Err(bad(format!(
                    "chunk {index} holds {} samples of {}",
                    data.len(),
                    dw * dh
                )));
            }
            let (x0, y0) = ((chunk % across) * chunk_w, (chunk / across) * chunk_h);
            // Rows of equal length (edge tiles may or may not be padded to the tile width).
            let stride = (data.len() / dh.max(1)).max(dw);
            for y in 0..dh.min(height.saturating_sub(y0)) {
                for x in 0..dw.min(width.saturating_sub(x0)) {
                    out[((y0 + y) * width + x0 + x) * samples + plane] = data[y * stride + x];
                }
            }
        }
    }
    let (w, h) = (header.width, header.height);
    let short = || bad("short picture buffer");
    Ok(if header.bits == 8 {
        let bytes: Vec<u8> = out.into_iter().map(|v| v as u8).collect();
        match samples {
            1 => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, bytes).ok_or_else(short)?),
            2 => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, bytes).ok_or_else(short)?),
            3 => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, bytes).ok_or_else(short)?),
            _ => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, bytes).ok_or_else(short)?),
        }
    } else {
        match samples {
            1 => DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, out).ok_or_else(short)?),
            2 => DynamicImage::ImageLumaA16(ImageBuffer::from_raw(w, h, out).ok_or_else(short)?),
            3 => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, out).ok_or_else(short)?),
            _ => DynamicImage::ImageRgba16(ImageBuffer::from_raw(w, h, out).ok_or_else(short)?),
        }
    })
}

//! TIFF variants the `image` crate's reader does not handle, read with the `tiff` crate:
//!
//! - stored plane by plane (`PlanarConfiguration` = 2: all the red samples, then all the green,
//!   then all the blue), tiled or in strips — scanners and some archive workflows write them; the
//!   `image` crate does not assemble them (it panics on the tiled ones), so each chunk (one plane
//!   of one tile or strip) is read and interleaved here ([`probe`], [`decode`]);
//! - JPEG-compressed YCbCr (what older digitization systems and DAM exports write): the `tiff`
//!   crate decodes the JPEG streams but hands back YCbCr, converted to RGB here
//!   ([`decode_ycbcr`]);
//! - the header of any other TIFF ([`first_header`]), for decoders that do not report it
//!   themselves (FFmpeg's, for palette and CCITT Group 3 TIFFs), with a check that every strip or
//!   tile lies inside the file.

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

/// What the first image's header says of any TIFF the `tiff` crate can open, read before any
/// pixel (for decoders that do not report it themselves).
#[derive(Debug)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// As the `tiff` crate reads it (`None`: a photometric interpretation it does not know).
    pub color: Option<ColorType>,
    pub icc: Option<Vec<u8>>,
    /// The TIFF `Orientation` tag (1–8), if any.
    pub orientation: Option<u8>,
}

/// The first image's size, colour type, ICC profile and orientation. Undecodable if a strip or
/// tile it lists reaches past the end of the file (a truncated master); unsupported if the
/// `tiff` crate cannot read the header.
pub fn first_header(input: &Path) -> Result<Header, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let file_len = file.metadata().map_err(bad)?.len();
    let unreadable = |e: tiff::TiffError| PipelineError::Unsupported(format!("tiff ({e})"));
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(unreadable)?;
    let (width, height) = decoder.dimensions().map_err(unreadable)?;
    let tags = [
        (Tag::StripOffsets, Tag::StripByteCounts),
        (Tag::TileOffsets, Tag::TileByteCounts),
    ];
    for (offsets, counts) in tags {
        let mut list = |tag| -> Result<Vec<u64>, PipelineError> {
            match decoder.find_tag(tag).map_err(bad)? {
                Some(value) => value.into_u64_vec().map_err(bad),
                None => Ok(Vec::new()),
            }
        };
        let (offsets, counts) = (list(offsets)?, list(counts)?);
        for (k, (offset, count)) in offsets.iter().zip(&counts).enumerate() {
            let end = offset.saturating_add(*count);
            if end > file_len {
                return Err(bad(format!(
                    "chunk {k} ends at byte {end}, past the end of the {file_len}-byte file (truncated)"
                )));
            }
        }
    }
    Ok(Header {
        width,
        height,
        color: decoder.colortype().ok(),
        icc: icc_of(&mut decoder)?,
        orientation: orientation_of(&mut decoder),
    })
}

/// Decodes a JPEG-compressed YCbCr TIFF ([`first_header`] said `YCbCr(8)`) to RGB: the JPEG
/// streams hold full-range BT.601 YCbCr (JFIF), upsampled by the JPEG decoder.
pub fn decode_ycbcr(input: &Path) -> Result<DynamicImage, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(bad)?;
    let (width, height) = decoder.dimensions().map_err(bad)?;
    let DecodingResult::U8(mut samples) = decoder.read_image().map_err(bad)? else {
        return Err(PipelineError::Unsupported(
            "tiff (YCbCr samples deeper than 8 bits)".into(),
        ));
    };
    for px in samples.chunks_exact_mut(3) {
        let (y, cb, cr) = (
            f32::from(px[0]),
            f32::from(px[1]) - 128.0,
            f32::from(px[2]) - 128.0,
        );
        let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        px[0] = clamp(y + 1.402 * cr);
        px[1] = clamp(y - 0.344_136 * cb - 0.714_136 * cr);
        px[2] = clamp(y + 1.772 * cb);
    }
    ImageBuffer::from_raw(width, height, samples)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| bad("the YCbCr image is shorter than its header says"))
}

/// The ICC profile of the TIFF's first image. (The `image` crate's TIFF reader returns none once
/// decoding limits are set on it, which is always: every TIFF's profile is read here.)
pub fn icc_profile(input: &Path) -> Result<Option<Vec<u8>>, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(bad)?;
    icc_of(&mut decoder)
}

fn icc_of<R: Read + Seek>(decoder: &mut Decoder<R>) -> Result<Option<Vec<u8>>, PipelineError> {
    match decoder.find_tag(Tag::IccProfile).map_err(bad)? {
        Some(value) => value.into_u8_vec().map(Some).map_err(bad),
        None => Ok(None),
    }
}

fn orientation_of<R: Read + Seek>(decoder: &mut Decoder<R>) -> Option<u8> {
    decoder
        .find_tag_unsigned::<u8>(Tag::Orientation)
        .ok()
        .flatten()
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
    let icc = icc_of(decoder)?;
    let orientation = orientation_of(decoder);
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

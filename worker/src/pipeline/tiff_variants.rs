//! TIFF variants the `image` crate's reader does not handle, read with the `tiff` crate:
//!
//! - stored plane by plane (`PlanarConfiguration` = 2: all the red samples, then all the green,
//!   then all the blue), tiled or in strips — scanners and some archive workflows write them; the
//!   `image` crate does not assemble them (it panics on the tiled ones), so each chunk (one plane
//!   of one tile or strip) is read and interleaved here ([`decode`]);
//! - JPEG-compressed YCbCr (what older digitization systems and DAM exports write): the `tiff`
//!   crate decodes the JPEG streams but hands back YCbCr, converted to RGB here
//!   ([`decode_ycbcr`]);
//! - the header of every TIFF master, read once ([`read_header`]): the ICC profile the `image`
//!   crate loses, whether the planes are separate, and, for decoders that do not report it
//!   themselves (FFmpeg's, for palette and CCITT Group 3 TIFFs), the size and whether every
//!   strip or tile lies inside the file.

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

/// What the first image's header says, read once, before any pixel, for every TIFF master.
#[derive(Debug)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// As the `tiff` crate reads it (`None`: a photometric interpretation it does not know).
    pub color: Option<ColorType>,
    /// Read here for every TIFF: the `image` crate's TIFF reader returns none once decoding
    /// limits are set on it, which is always.
    pub icc: Option<Vec<u8>>,
    /// The TIFF `Orientation` tag (1–8), if any.
    pub orientation: Option<u8>,
    /// Stored plane by plane: samples per pixel and bits per sample.
    pub planar: Option<(u16, u8)>,
    /// Why not every strip or tile can be read (one reaching past the end of the file: a
    /// truncated master), if so.
    pub damage: Option<String>,
}

/// The header of `input`'s first image; `None` if the `tiff` crate cannot open it (the `image`
/// crate then reports what is wrong). A planar TIFF in a colour type or depth [`decode`] does
/// not assemble is unsupported.
pub fn read_header(input: &Path) -> Result<Option<Header>, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let file_len = file.metadata().map_err(bad)?.len();
    let Ok(mut decoder) = Decoder::new(BufReader::new(file)) else {
        return Ok(None);
    };
    let Ok((width, height)) = decoder.dimensions() else {
        return Ok(None);
    };
    let planar = match decoder
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .map_err(bad)?
    {
        Some(2) => Some(planar_layout(decoder.colortype().map_err(bad)?)?),
        _ => None,
    };
    // An unreadable ICC tag is ignored like a profile that cannot be parsed, except where this
    // module reads the pixels too.
    let icc = match planar {
        Some(_) => icc_of(&mut decoder)?,
        None => icc_of(&mut decoder).ok().flatten(),
    };
    Ok(Some(Header {
        width,
        height,
        color: decoder.colortype().ok(),
        icc,
        orientation: decoder
            .find_tag_unsigned::<u8>(Tag::Orientation)
            .ok()
            .flatten(),
        planar,
        damage: chunk_damage(&mut decoder, file_len),
    }))
}

/// Samples per pixel and bits per sample of a planar TIFF [`decode`] assembles.
fn planar_layout(color: ColorType) -> Result<(u16, u8), PipelineError> {
    let (samples, bits) = match color {
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
    Ok((samples, bits))
}

/// Why not every strip or tile lies inside the `file_len`-byte file, if so.
fn chunk_damage<R: Read + Seek>(decoder: &mut Decoder<R>, file_len: u64) -> Option<String> {
    let tags = [
        (Tag::StripOffsets, Tag::StripByteCounts),
        (Tag::TileOffsets, Tag::TileByteCounts),
    ];
    for (offsets, counts) in tags {
        let mut list = |tag| -> Result<Vec<u64>, String> {
            match decoder.find_tag(tag).map_err(|e| e.to_string())? {
                Some(value) => value.into_u64_vec().map_err(|e| e.to_string()),
                None => Ok(Vec::new()),
            }
        };
        let (offsets, counts) = match (list(offsets), list(counts)) {
            (Ok(offsets), Ok(counts)) => (offsets, counts),
            (Err(e), _) | (_, Err(e)) => return Some(e),
        };
        for (k, (offset, count)) in offsets.iter().zip(&counts).enumerate() {
            let end = offset.saturating_add(*count);
            if end > file_len {
                return Some(format!(
                    "chunk {k} ends at byte {end}, past the end of the {file_len}-byte file (truncated)"
                ));
            }
        }
    }
    None
}

/// Decodes a JPEG-compressed YCbCr TIFF ([`Header::color`] `YCbCr(8)`) to RGB: the JPEG
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
        let rgb = super::colour::ycbcr_to_rgb(px[0], px[1], px[2]);
        px.copy_from_slice(&rgb);
    }
    ImageBuffer::from_raw(width, height, samples)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| bad("the YCbCr image is shorter than its header says"))
}

fn icc_of<R: Read + Seek>(decoder: &mut Decoder<R>) -> Result<Option<Vec<u8>>, PipelineError> {
    match decoder.find_tag(Tag::IccProfile).map_err(bad)? {
        Some(value) => value.into_u8_vec().map(Some).map_err(bad),
        None => Ok(None),
    }
}

/// Decodes the planar TIFF `input` ([`Header::planar`]) to interleaved samples; alpha is kept
/// for the colour conversion to composite.
pub fn decode(input: &Path, header: &Header) -> Result<DynamicImage, PipelineError> {
    let file = std::fs::File::open(input).map_err(bad)?;
    let mut decoder = Decoder::new(BufReader::new(file)).map_err(bad)?;
    let (width, height) = (header.width as usize, header.height as usize);
    let (samples, bits) = header.planar.expect("a planar TIFF");
    let samples = usize::from(samples);
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
    Ok(if bits == 8 {
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

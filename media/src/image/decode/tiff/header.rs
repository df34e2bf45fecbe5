//! TIFF variants the `image` crate's reader does not handle, read with the `tiff` crate:
//!
//! - stored plane by plane (`PlanarConfiguration` = 2: all the red samples, then all the green,
//!   then all the blue), tiled or in strips — scanners and some archive workflows write them; the
//!   `image` crate does not assemble them (it panics on the tiled ones); [`super::bands`]
//!   reads and interleaves each chunk (one plane of one tile or strip);
//! - JPEG-compressed YCbCr (what older digitization systems and DAM exports write): the `tiff`
//!   crate decodes the JPEG streams but hands back YCbCr, converted to RGB by
//!   [`super::variants`];
//! - the header of every TIFF master, read once ([`read_header`]): the ICC profile the `image`
//!   crate loses, whether the planes are separate, and, for decoders that do not report it
//!   themselves (FFmpeg's, for palette and CCITT Group 3 TIFFs), the size and whether every
//!   strip or tile lies inside the file.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use tiff::decoder::Decoder;
use tiff::tags::Tag;
use tiff::ColorType;

use crate::error::PipelineError;

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
/// crate then reports what is wrong). A planar TIFF in a colour type or depth [`super::bands`] does
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

/// Samples per pixel and bits per sample of a planar TIFF [`super::bands`] assembles.
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

fn icc_of<R: Read + Seek>(decoder: &mut Decoder<R>) -> Result<Option<Vec<u8>>, PipelineError> {
    match decoder.find_tag(Tag::IccProfile).map_err(bad)? {
        Some(value) => value.into_u8_vec().map(Some).map_err(bad),
        None => Ok(None),
    }
}

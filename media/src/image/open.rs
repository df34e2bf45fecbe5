//! Opens a master by its content: a TIFF the band reader handles, or a JPEG when every pixel is
//! needed (IIIF), is left to be read band by band; a JPEG whose outputs are all smaller is
//! decoded at a reduced scale; every other master is decoded whole, upright, to 8-bit sRGB.

use std::path::Path;

use caravan_proto::Profile;

use super::colour::is_cmyk;
use super::decode::jpeg::{self, JpegStream};
use super::decode::tiff::bands::Bands;
use super::decode::tiff::header::read_header;
use super::decode::tiff::stream::TiffStream;
use super::decode::tiff::variants;
use super::decode::{image_crate, jp2};
use super::decoded::Decoded;
use super::limits;
use super::stream::StreamedMaster;
use crate::error::PipelineError;

/// A master ready to be made into derivatives.
pub enum Master {
    /// Decoded whole, upright.
    Whole(Decoded),
    /// Decoded smaller than the master (but at least as large as every output): `full` is the
    /// upright master's size, which the outputs' sizes are fitted from.
    Reduced { decoded: Decoded, full: (u32, u32) },
    /// Read band by band as the pyramid takes it ([`super::stream`]).
    Bands(Box<dyn StreamedMaster>),
}

impl Master {
    /// The upright master's width and height.
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            Master::Whole((image, _)) => image.dimensions(),
            Master::Reduced { full, .. } => *full,
            Master::Bands(read) => read.dimensions(),
        }
    }
}

/// Opens the master: a TIFF of a kind read band by band ([`super::decode::tiff::bands`]) is left to be
/// read so; every other master is decoded whole to 8-bit sRGB with its orientation applied
/// (alpha composited on white).
pub fn open(input: &Path, profile: &Profile) -> Result<Master, PipelineError> {
    let head = read_head(input)?;
    if jp2::is_jpeg2000(&head) {
        return jp2::decode(input, profile).map(Master::Whole);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return open_jpeg(input, profile);
    }
    let tiff = [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"];
    if !tiff.iter().any(|m| head.starts_with(*m)) {
        return image_crate::decode(input, None, profile).map(Master::Whole);
    }
    let Some(header) = read_header(input)? else {
        // The `image` crate says what is wrong with it.
        return image_crate::decode(input, None, profile).map(Master::Whole);
    };
    // Turning by the `Orientation` tag needs every row at once.
    if header.orientation.is_none_or(|o| o == 1) {
        if let Some(bands) = Bands::open(input, &header)? {
            limits::check_dimensions("tiff", header.width, header.height, profile)?;
            let read = TiffStream { bands, header };
            let needed = read.needed_bytes(profile);
            let (w, h) = read.dimensions();
            limits::check_memory(w, h, needed, profile)?;
            return Ok(Master::Bands(Box::new(read)));
        }
    }
    if header.planar.is_some() {
        return variants::decode_planar(input, &header, profile).map(Master::Whole);
    }
    image_crate::decode(input, Some(header), profile).map(Master::Whole)
}

/// A JPEG master: CMYK ones through their ink amounts ([`image_crate`]); others decoded at a
/// reduced scale when no output needs every pixel, else band by band (or whole, when an EXIF
/// orientation must be applied to full-resolution tiles).
fn open_jpeg(input: &Path, profile: &Profile) -> Result<Master, PipelineError> {
    let header = jpeg::read_header(input)?;
    let cmyk = header.components == 4 || header.icc.as_deref().is_some_and(is_cmyk);
    if cmyk {
        return image_crate::decode(input, None, profile).map(Master::Whole);
    }
    if !profile.image.iiif.enabled {
        let decoded = jpeg::decode_reduced(input, &header, profile)?;
        return Ok(Master::Reduced {
            decoded,
            full: header.upright(),
        });
    }
    match JpegStream::new(input, &header, profile)? {
        Some(read) => Ok(Master::Bands(Box::new(read))),
        None => image_crate::decode(input, None, profile).map(Master::Whole),
    }
}

/// The first 12 bytes of `input` (fewer if it is shorter).
fn read_head(input: &Path) -> Result<Vec<u8>, PipelineError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(12);
    std::fs::File::open(input)
        .and_then(|f| f.take(12).read_to_end(&mut head))
        .map_err(|e| PipelineError::Undecodable {
            format: "image".into(),
            detail: e.to_string(),
        })?;
    Ok(head)
}

//! JPEG 2000 masters (JP2 files and raw J2K codestreams), the delivery format of many national
//! libraries, decoded by FFmpeg's JPEG 2000 decoder in-process ([`super::ffmpeg_still`]; the
//! `image` crate has none).
//!
//! Before any pixel is decoded the header is read here: the JP2 boxes (`ihdr` for the size,
//! `colr` for the colour space or an embedded ICC profile) or the codestream's SIZ marker, and
//! the codestream must be whole — present to its end-of-codestream marker (FF D9). A truncated
//! JPEG 2000 file decodes to a blurred or partial picture without complaint; an archive must not
//! get a derivative of half a master, so it fails as undecodable.

use std::path::Path;

use caravan_proto::Profile;

use crate::error::PipelineError;
use crate::image::colour::to_srgb8;
use crate::image::decoded::{describe, Decoded};
use crate::image::limits;

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    pub components: u16,
    /// An ICC profile from a `colr` box (methods 2 and 3).
    pub icc: Option<Vec<u8>>,
    /// `jp2` (boxes) or `j2k` (a bare codestream).
    pub container: &'static str,
}

const JP2_SIGNATURE: [u8; 12] = [
    0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
];
const CODESTREAM_START: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];

/// Whether `head` starts a JP2 file or a J2K codestream.
pub fn is_jpeg2000(head: &[u8]) -> bool {
    head.starts_with(&JP2_SIGNATURE) || head.starts_with(&CODESTREAM_START)
}

fn bad(detail: impl Into<String>) -> PipelineError {
    PipelineError::Undecodable {
        format: "jpeg2000".into(),
        detail: detail.into(),
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads the header of `data` and checks that its codestream is complete.
pub fn header(data: &[u8]) -> Result<Header, PipelineError> {
    if data.starts_with(&CODESTREAM_START) {
        let (width, height, components) = siz(data)?;
        complete(data)?;
        return Ok(Header {
            width,
            height,
            components,
            icc: None,
            container: "j2k",
        });
    }
    let mut header = None;
    let mut icc = None;
    let mut codestream = None;
    for (kind, body) in boxes(data)? {
        match &kind {
            b"jp2h" => {
                for (kind, body) in boxes(body)? {
                    match &kind {
                        b"ihdr" if body.len() >= 10 => {
                            let (height, width) = (be32(body, 0), be32(body, 4));
                            let components = u16::from_be_bytes([body[8], body[9]]);
                            header = height.zip(width).map(|(h, w)| (w, h, components));
                        }
                        // METH 2 (restricted ICC) or 3 (any ICC): the profile follows 3 bytes.
                        b"colr" if body.len() > 3 && matches!(body[0], 2 | 3) && icc.is_none() => {
                            icc = Some(body[3..].to_vec());
                        }
                        _ => {}
                    }
                }
            }
            b"jp2c" => codestream = Some(body),
            _ => {}
        }
    }
    let (width, height, components) =
        header.ok_or_else(|| bad("the JP2 file has no image header box (ihdr)"))?;
    let codestream = codestream.ok_or_else(|| bad("the JP2 file holds no codestream (jp2c)"))?;
    complete(codestream)?;
    Ok(Header {
        width,
        height,
        components,
        icc,
        container: "jp2",
    })
}

/// A JP2 box: its type and contents.
type JpBox<'a> = ([u8; 4], &'a [u8]);

/// The boxes of `data`, in order. A box running past the end is truncation.
fn boxes(data: &[u8]) -> Result<Vec<JpBox<'_>>, PipelineError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let length = be32(data, at).unwrap_or(0) as u64;
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().expect("four bytes");
        let (header, length) = match length {
            0 => (8, (data.len() - at) as u64),
            1 => {
                let long = data
                    .get(at + 8..at + 16)
                    .map(|b| u64::from_be_bytes(b.try_into().expect("eight bytes")))
                    .ok_or_else(|| bad("a JP2 box header is cut short (truncated)"))?;
                (16, long)
            }
            n => (8, n),
        };
        let end = (at as u64).saturating_add(length);
        if length < header || end > data.len() as u64 {
            return Err(bad(format!(
                "the JP2 box {:?} claims {length} bytes but the file ends {} bytes after its start (truncated)",
                String::from_utf8_lossy(&kind),
                data.len() - at
            )));
        }
        out.push((kind, &data[at + header as usize..end as usize]));
        at = end as usize;
    }
    Ok(out)
}

/// Width, height and component count from the codestream's SIZ marker segment.
fn siz(codestream: &[u8]) -> Result<(u32, u32, u16), PipelineError> {
    // FF4F (SOC), FF51 (SIZ), Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, tiles…, Csiz.
    let field = |at| be32(codestream, at).ok_or_else(|| bad("the SIZ marker is cut short"));
    let (x, y, x0, y0) = (field(8)?, field(12)?, field(16)?, field(20)?);
    let components = codestream
        .get(40..42)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| bad("the SIZ marker is cut short"))?;
    if x <= x0 || y <= y0 {
        return Err(bad("the SIZ marker declares an empty image"));
    }
    Ok((x - x0, y - y0, components))
}

/// A whole codestream ends with EOC (FF D9).
fn complete(codestream: &[u8]) -> Result<(), PipelineError> {
    if codestream.ends_with(&[0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(bad(format!(
            "the codestream ({} bytes) does not end with its end-of-codestream marker (truncated)",
            codestream.len()
        )))
    }
}

/// A JPEG 2000 master: header and completeness checked, then decoded by FFmpeg.
pub fn decode(input: &Path, profile: &Profile) -> Result<Decoded, PipelineError> {
    let data = std::fs::read(input).map_err(|e| PipelineError::Undecodable {
        format: "jpeg2000".into(),
        detail: e.to_string(),
    })?;
    let header = header(&data)?;
    // FFmpeg's decoder holds its own planes (32-bit per sample) besides the converted copy.
    let per_pixel = u64::from(header.components.max(1)) * (4 + 2);
    limits::check_size(
        "jpeg2000",
        header.width,
        header.height,
        per_pixel,
        header.icc.is_some(),
        profile,
    )?;
    let image = super::ffmpeg_still::decode(ffmpeg_next::codec::Id::JPEG2000, &data, "jpeg2000")?;
    drop(data);
    let color = image.color();
    let (rgb, colour) = to_srgb8(image, header.icc.as_deref());
    let mut info = describe(
        "jpeg2000",
        (header.width, header.height),
        format!("{color:?}"),
        image::metadata::Orientation::NoTransforms,
        &colour,
    );
    info.insert("container".to_owned(), header.container.into());
    Ok((rgb, info))
}

#[cfg(test)]
mod tests;

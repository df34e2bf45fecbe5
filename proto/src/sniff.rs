//! Recognises a master's media type from its first bytes, never from its file name.

use crate::job::JobKind;

/// How many leading bytes [`sniff`] looks at.
pub const SNIFF_LEN: usize = 512;

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub media_type: &'static str,
    pub kind: JobKind,
}

/// The media type of content starting with `head` (give it [`SNIFF_LEN`] bytes or the whole
/// file if shorter), or `None` if it is nothing Caravan processes.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    let image = |media_type| {
        Some(Sniffed {
            media_type,
            kind: JobKind::Image,
        })
    };
    let video = |media_type| {
        Some(Sniffed {
            media_type,
            kind: JobKind::Video,
        })
    };
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);

    if at(0, &[0xFF, 0xD8, 0xFF]) {
        return image("image/jpeg");
    }
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return image("image/png");
    }
    if at(0, b"II*\0") || at(0, b"MM\0*") || at(0, b"II+\0") || at(0, b"MM\0+") {
        return image("image/tiff");
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return image("image/webp");
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return image("image/gif");
    }
    if at(
        0,
        &[
            0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A,
        ],
    ) {
        return image("image/jp2");
    }
    if at(0, &[0xFF, 0x4F, 0xFF, 0x51]) {
        return image("image/j2c");
    }
    if at(0, b"BM") && head.len() >= 26 {
        return image("image/bmp");
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return video("video/x-matroska");
    }
    if at(4, b"ftyp") {
        return if at(8, b"qt  ") {
            video("video/quicktime")
        } else {
            video("video/mp4")
        };
    }
    if at(4, b"moov") || at(4, b"mdat") || at(4, b"wide") || at(4, b"free") || at(4, b"skip") {
        return video("video/quicktime");
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return video("video/x-msvideo");
    }
    if at(
        0,
        &[
            0x06, 0x0E, 0x2B, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0D, 0x01, 0x02,
        ],
    ) {
        return video("application/mxf");
    }
    if at(0, &[0x1F, 0x07, 0x00]) {
        return video("video/x-dv");
    }
    if at(0, &[0x00, 0x00, 0x01, 0xBA]) {
        return video("video/mpeg");
    }
    if head.len() > 376 && head[0] == 0x47 && head[188] == 0x47 && head[376] == 0x47 {
        return video("video/mp2t");
    }
    None
}

#[cfg(test)]
mod tests;

//! Pixel comparisons and hand-built image files.

/// Mean absolute difference per channel of two images of the same size, in levels (0–255).
pub fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "images of different sizes");
    let total: u64 = (a.as_raw().iter().zip(b.as_raw()))
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

/// The JPEG's start-of-frame marker (C0 baseline, C2 progressive), found by walking the
/// segments from SOI.
pub fn jpeg_frame_marker(jpeg: &[u8]) -> u8 {
    let mut at = 2;
    loop {
        assert_eq!(jpeg[at], 0xFF, "segment marker expected at {at}");
        let marker = jpeg[at + 1];
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            return marker;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
}

/// Appends a PNG chunk (length, type, data, CRC) to `out`.
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
}

/// A valid PNG that declares `w`×`h` 8-bit RGB pixels and holds almost no data.
pub fn png_header_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", b"\x78\x9c\x03\x00");
    png_chunk(&mut out, b"IEND", b"");
    out
}

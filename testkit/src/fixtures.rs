//! Submission folders as digitization teams hand them over.

use std::path::Path;

/// Writes a small submission into `root`: `a.png`, `sub/b — 写真.jpg`, a copy of `a.png`
/// (`sub/a-copy.png`), a PNG named like a JPEG (`looks-like.jpg`), `notes.txt`, a hidden
/// `.DS_Store`, and `broken.jpg` (a JPEG header followed by garbage: sniffed as an image,
/// undecodable).
pub fn small_submission(root: &Path) {
    std::fs::create_dir_all(root.join("sub")).unwrap();
    image::RgbImage::from_fn(64, 32, |x, _| image::Rgb([x as u8, 0, 0]))
        .save(root.join("a.png"))
        .unwrap();
    image::RgbImage::from_fn(32, 64, |_, y| image::Rgb([0, y as u8, 0]))
        .save(root.join("sub/b — 写真.jpg"))
        .unwrap();
    // The same bytes as a.png under another name, and a PNG named like a JPEG.
    std::fs::copy(root.join("a.png"), root.join("sub/a-copy.png")).unwrap();
    std::fs::copy(root.join("a.png"), root.join("looks-like.jpg")).unwrap();
    std::fs::write(root.join("notes.txt"), "not media").unwrap();
    std::fs::write(root.join(".DS_Store"), "hidden").unwrap();
    // A JPEG header followed by garbage: sniffed as an image, fails in the worker.
    std::fs::write(
        root.join("broken.jpg"),
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00garbage garbage",
    )
    .unwrap();
}

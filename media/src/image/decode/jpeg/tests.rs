use caravan_proto::Profile;
use caravan_testkit::images::mean_abs_diff;
use caravan_testkit::requests;

use super::reduction;

#[test]
fn the_reduction_is_the_largest_that_still_covers_the_target() {
    // libjpeg scales by eighths and rounds up: 12000 × 1/4 = 3000 ≥ 2048, × 1/8 = 1500 < 2048.
    assert_eq!(reduction((12000, 8000), (2048, 1365)), 2);
    assert_eq!(reduction((4096, 3072), (2048, 1536)), 4);
    assert_eq!(reduction((4000, 3000), (2048, 1536)), 8);
    assert_eq!(reduction((16400, 10000), (2048, 1249)), 1);
    // A master smaller than twice the target is decoded whole.
    assert_eq!(reduction((3000, 2000), (2048, 1365)), 8);
    // Both sides must be covered, and rounding up counts (4097 / 2 = 2049).
    assert_eq!(reduction((4097, 100), (2048, 50)), 4);
    assert_eq!(reduction((4097, 100), (2048, 51)), 8);
}

/// A photographic 24 MP JPEG (gradients, fine noise, hard edges), q92.
fn photo(path: &std::path::Path, (w, h): (u32, u32)) {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let picture = image::RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 24) as u32;
        let edge = if (x / 300 + y / 200) % 2 == 0 { 50 } else { 0 };
        image::Rgb([
            ((x * 200 / w) + noise).min(255) as u8,
            ((y * 180 / h) + noise + edge).min(255) as u8,
            (((x + y) * 120 / (w + h)) + 60 + noise).min(255) as u8,
        ])
    });
    let file = std::fs::File::create(path).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(file, 92)
        .encode_image(&picture)
        .unwrap();
}

fn run(master: &std::path::Path, profile: Profile) -> (tempfile::TempDir, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let made =
        crate::image::run(&requests::image(master, out.path(), profile), &mut |_| {}).unwrap();
    let read = made.master_info["read"].clone();
    (out, read)
}

/// Without IIIF no output needs every pixel: the JPEG is decoded with a scaled IDCT. Its
/// derivatives stay within 1/255 (mean) of the ones made from every pixel (the IIIF path, which
/// reads the master band by band at full resolution), at the same sizes.
#[test]
fn jpeg_masters_decoded_at_a_reduced_scale_make_the_same_derivatives() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("photo.jpg");
    photo(&master, (6000, 4000));
    let mut reduced = Profile::default();
    reduced.image.iiif.enabled = false;
    let (small, read) = run(&master, reduced);
    assert_eq!(read, "scaled by 4/8 while decoding (3000×2000)");
    let (full, read) = run(&master, Profile::default());
    assert_eq!(read, "band by band");
    for name in ["access.jpg", "access-1024.jpg", "thumb.jpg"] {
        let a = image::open(small.path().join(name)).unwrap().into_rgb8();
        let b = image::open(full.path().join(name)).unwrap().into_rgb8();
        assert_eq!(a.dimensions(), b.dimensions(), "{name}");
        let diff = mean_abs_diff(&a, &b);
        assert!(diff <= 1.0, "{name}: {diff:.3} levels from the full decode");
    }
}

/// A damaged scan in the middle of a JPEG is libjpeg's fatal error, reported as undecodable;
/// the process goes on.
#[test]
fn a_jpeg_libjpeg_cannot_decode_fails_as_undecodable() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("photo.jpg");
    photo(&master, (800, 600));
    let mut bytes = std::fs::read(&master).unwrap();
    // Overwrite the frame header's component count with an impossible value.
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame");
    bytes[sof + 9] = 9;
    std::fs::write(&master, &bytes).unwrap();
    let mut profile = Profile::default();
    profile.image.iiif.enabled = false;
    let out = tempfile::tempdir().unwrap();
    let err =
        crate::image::run(&requests::image(&master, out.path(), profile), &mut |_| {}).unwrap_err();
    assert_eq!(err.code().as_str(), "undecodable_input", "{err}");
}

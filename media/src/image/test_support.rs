//! The image pipeline run as this crate's tests need it (generic helpers are in
//! `caravan-testkit`).

use caravan_testkit::requests;

/// Runs the image pipeline on `master` and decodes its access JPEG.
pub(crate) fn access_of(
    master: &std::path::Path,
) -> (image::RgbImage, Vec<u8>, crate::output::PipelineOutput) {
    access_with(master, caravan_proto::Profile::default())
}

/// Runs the image pipeline on `master` with `profile` and decodes its access JPEG.
pub(crate) fn access_with(
    master: &std::path::Path,
    profile: caravan_proto::Profile,
) -> (image::RgbImage, Vec<u8>, crate::output::PipelineOutput) {
    let out = tempfile::tempdir().unwrap();
    let made =
        crate::image::run(&requests::image(master, out.path(), profile), &mut |_| {}).unwrap();
    let bytes = std::fs::read(out.path().join("access.jpg")).unwrap();
    (
        image::load_from_memory(&bytes).unwrap().into_rgb8(),
        bytes,
        made,
    )
}

/// Runs the image pipeline with the default profile (no IIIF) and decodes its access JPEG.
pub(crate) fn access_jpeg(master: &std::path::Path, out: &std::path::Path) -> image::RgbImage {
    std::fs::create_dir_all(out).unwrap();
    let mut profile = caravan_proto::Profile::default();
    profile.image.iiif.enabled = false;
    crate::image::run(&requests::image(master, out, profile), &mut |_| {}).unwrap();
    image::open(out.join("access.jpg")).unwrap().into_rgb8()
}

/// A test card with sharp-edged blocks over gradients, `w`×`h`.
pub(crate) fn iiif_card(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let band = if (x / 97 + y / 61) % 2 == 0 { 40 } else { 0 };
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 120 + band])
    })
}

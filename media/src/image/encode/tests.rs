use caravan_testkit::corpus;

use crate::image::test_support::access_of;

#[test]
fn public_derivatives_carry_no_gps_or_camera_metadata_only_an_srgb_profile() {
    let Some(dir) = corpus::dir(
        "public_derivatives_carry_no_gps_or_camera_metadata_only_an_srgb_profile",
        "images",
    ) else {
        return;
    };
    let master = std::fs::read(dir.join("exif_gps.jpg")).unwrap();
    assert!(
        master.windows(6).any(|w| w == b"Exif\0\0"),
        "the corpus file should carry EXIF"
    );
    let (_, access, _) = access_of(&dir.join("exif_gps.jpg"));
    assert!(
        !access.windows(6).any(|w| w == b"Exif\0\0"),
        "EXIF reached a derivative"
    );
    assert!(
        !access.windows(3).any(|w| w == b"GPS"),
        "GPS reached a derivative"
    );
    assert!(
        access.windows(12).any(|w| w == b"ICC_PROFILE\0"),
        "the derivative is not tagged sRGB"
    );
}

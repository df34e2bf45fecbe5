use caravan_testkit::images::png_header_bomb;
use caravan_testkit::requests;

#[test]
fn header_bombs_fail_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.png");
    // A valid PNG signature and IHDR declaring 60000×60000 pixels, and no image data.
    let png = png_header_bomb(60000, 60000);
    std::fs::write(&path, &png).unwrap();
    let profile = caravan_proto::Profile::default();
    let err =
        crate::image::run(&requests::image(&path, dir.path(), profile), &mut |_| {}).unwrap_err();
    assert_eq!(err.code().as_str(), "limits_exceeded", "{err}");
    assert!(!err.is_retryable());
}

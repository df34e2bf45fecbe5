use super::output_size;

#[test]
fn video_output_size_makes_pixels_square_and_caps_height() {
    // NYU's capture: 720×486 at SAR 9:10 shows as 4:3.
    assert_eq!(output_size(720, 486, (9, 10), 1080), (648, 486));
    // PAL DV 16:9: 720×576 at SAR 64:45.
    assert_eq!(output_size(720, 576, (64, 45), 1080), (1024, 576));
    assert_eq!(output_size(3840, 2160, (1, 1), 1080), (1920, 1080));
    assert_eq!(output_size(320, 240, (0, 1), 1080), (320, 240));
}

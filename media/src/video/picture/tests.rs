//! The pictures of every rendition: the watermark burned in, sideways video turned upright.

use std::path::Path;

use caravan_proto::{HlsRung, Profile};
use caravan_testkit::ffmpeg;

#[test]
fn a_logo_watermark_is_burned_into_every_rendition_in_display_proportions() {
    let dir = tempfile::tempdir().unwrap();
    // Grey PAL 16:9: stored 720×576, displayed 1024×576.
    let master = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=0x808080:s=720x576:r=25:d=2,setsar=64/45",
            "-c:v",
            "ffv1",
        ],
        &dir.path().join("grey.mkv"),
    );
    let logo = dir.path().join("logo.png");
    image::RgbaImage::from_pixel(40, 20, image::Rgba([255, 0, 0, 255]))
        .save(&logo)
        .unwrap();
    let mut profile = Profile::default();
    profile.video.hls.segment_seconds = 1.0;
    profile.video.hls.rungs = vec![HlsRung {
        height: 288,
        max_kbps: 500,
    }];
    let w = &mut profile.video.watermark;
    w.enabled = true;
    w.logo = Some(logo);
    w.position = "bottom-right".into();
    w.scale = 0.25;
    w.margin = 0.05;
    w.opacity = 1.0;
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let made =
        crate::video::run(&master, &out, &profile, &Default::default(), &mut |_| {}).unwrap();
    assert_eq!(
        made.master_info["watermark"]["logo_sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );

    let frame_of = |video: &Path| {
        let png = video.with_extension("png");
        ffmpeg::make(&["-i", &video.to_string_lossy(), "-frames:v", "1"], &png);
        image::open(&png).unwrap().into_rgb8()
    };
    let red = |p: &image::Rgb<u8>| p.0[0] > 200 && p.0[1] < 70 && p.0[2] < 70;
    let grey = |p: &image::Rgb<u8>| p.0.iter().all(|&c| c.abs_diff(128) < 12);
    // Access copy, 1024×576 square pixels: a 256×128 logo (a quarter of the displayed width,
    // its own 2:1 shape), 29 px from the bottom and right edges.
    let access = frame_of(&out.join("access.mp4"));
    assert_eq!(access.dimensions(), (1024, 576));
    let (x0, y0, x1, y1) = (737, 417, 993, 545);
    for (x, y) in [
        (x0 + 6, y0 + 6),
        (x1 - 6, y1 - 6),
        ((x0 + x1) / 2, (y0 + y1) / 2),
    ] {
        assert!(
            red(access.get_pixel(x, y)),
            "({x}, {y}) {:?}",
            access.get_pixel(x, y)
        );
    }
    for (x, y) in [
        (x0 - 8, y0 + 60),
        (x1 + 8, y0 + 60),
        (x0 + 100, y0 - 8),
        (x0 + 100, y1 + 8),
        (20, 20),
    ] {
        assert!(
            grey(access.get_pixel(x, y)),
            "({x}, {y}) {:?}",
            access.get_pixel(x, y)
        );
    }
    // The HLS rung (512×288) carries the same mark at half the size.
    let rung = frame_of(&out.join("hls/288p/index.m3u8"));
    assert_eq!(rung.dimensions(), (512, 288));
    assert!(red(rung.get_pixel(432, 240)) && grey(rung.get_pixel(20, 20)));
}

/// Sets the display matrix of the first track of the MP4 at `path` to a quarter turn (as phones
/// record portrait video: stored sideways, turned on display).
fn turn_mp4_quarter(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(4).position(|w| w == b"tkhd").unwrap() - 4;
    assert_eq!(bytes[at + 8], 0, "a version 0 track header");
    // size, type, version/flags, 5 × 32-bit fields, 8 reserved, 4 × 16-bit fields: the matrix.
    let matrix: [u32; 9] = [0, 0x0001_0000, 0, 0xFFFF_0000, 0, 0, 0, 0, 0x4000_0000];
    for (k, value) in matrix.iter().enumerate() {
        let offset = at + 48 + 4 * k;
        bytes[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_video_recorded_sideways_comes_out_upright_as_the_ffmpeg_cli_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let master = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=640x360:r=25:d=2",
            "-c:v",
            "libx264",
        ],
        &dir.path().join("phone.mp4"),
    );
    turn_mp4_quarter(&master);
    let rotation = ffmpeg::probe(
        &[
            "-show_entries",
            "stream_side_data=rotation",
            "-of",
            "csv=p=0",
        ],
        &master,
    );
    assert!(
        rotation
            .trim()
            .trim_matches(',')
            .parse::<i32>()
            .unwrap()
            .abs()
            == 90,
        "{rotation}"
    );
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut profile = Profile::default();
    profile.video.hls.rungs = vec![HlsRung {
        height: 320,
        max_kbps: 800,
    }];
    let made =
        crate::video::run(&master, &out, &profile, &Default::default(), &mut |_| {}).unwrap();
    assert_eq!(made.master_info["rotation_degrees"], 90);
    // Portrait, as the CLI (which turns by the display matrix) shows the first frame.
    let access = out.join("access.mp4");
    let size = ffmpeg::probe(
        &["-show_entries", "stream=width,height", "-of", "csv=p=0"],
        &access,
    );
    assert_eq!(size.trim(), "360,640");
    let rung = out.join("hls/320p/index.m3u8");
    let size = ffmpeg::probe(
        &["-show_entries", "stream=width,height", "-of", "csv=p=0"],
        &rung,
    );
    assert_eq!(size.lines().next(), Some("180,320"), "{size}");
    let first_frame = |video: &Path, name: &str| {
        let png = dir.path().join(name);
        ffmpeg::make(&["-i", &video.to_string_lossy(), "-frames:v", "1"], &png);
        image::open(&png).unwrap().into_rgb8()
    };
    let ours = first_frame(&access, "ours.png");
    let reference = first_frame(&master, "reference.png");
    assert_eq!(ours.dimensions(), reference.dimensions());
    let diff: f64 = ours
        .as_raw()
        .iter()
        .zip(reference.as_raw())
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / ours.as_raw().len() as f64;
    assert!(
        diff < 6.0,
        "our first frame differs from the CLI's by {diff:.1}"
    );
    // The poster is upright too.
    let poster = image::open(out.join("poster.jpg")).unwrap();
    assert!(poster.height() > poster.width());
}

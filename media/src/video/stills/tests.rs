use caravan_testkit::ffmpeg;

/// A clip that opens on black (a leader) then shows a test pattern, made by the FFmpeg CLI.
fn leader_then_pattern(dir: &std::path::Path) -> std::path::PathBuf {
    ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=320x240:r=25:d=1.2",
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=320x240:r=25:d=0.8",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1[v]",
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
        &dir.join("leader.mkv"),
    )
}

#[test]
fn the_poster_skips_a_black_leader_and_the_storyboard_covers_the_clip() {
    let dir = tempfile::tempdir().unwrap();
    let master = leader_then_pattern(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut profile = caravan_proto::Profile::default();
    profile.video.storyboard_interval_seconds = 0.5;
    let made =
        crate::video::run(&master, &out, &profile, &Default::default(), &mut |_| {}).unwrap();
    let names: Vec<_> = made
        .outputs
        .iter()
        .map(|o| o.name.as_str())
        .filter(|n| !n.starts_with("hls/"))
        .collect();
    assert_eq!(
        names,
        [
            "access.mp4",
            "poster.jpg",
            "storyboard.jpg",
            "storyboard.vtt"
        ]
    );

    // 10 % of 2 s is inside the leader: the poster is the first real picture after it.
    let poster = image::open(out.join("poster.jpg")).unwrap().into_rgb8();
    assert_eq!(poster.dimensions(), (320, 240));
    let mean =
        poster.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / poster.as_raw().len() as f64;
    assert!(mean > 60.0, "poster is dark (mean {mean:.0})");

    // Cues every 0.5 s from 0 to the end, each pointing at one tile inside the sheet.
    let sheet = image::open(out.join("storyboard.jpg")).unwrap().into_rgb8();
    let track = std::fs::read_to_string(out.join("storyboard.vtt")).unwrap();
    assert!(track.starts_with("WEBVTT\n"));
    let cues: Vec<(String, String, [u32; 4])> = track
        .split("\n\n")
        .skip(1)
        .map(|cue| {
            let mut lines = cue.lines();
            let (start, end) = lines.next().unwrap().split_once(" --> ").unwrap();
            let (file, xywh) = lines.next().unwrap().split_once("#xywh=").unwrap();
            assert_eq!(file, "storyboard.jpg");
            let v: Vec<u32> = xywh.split(',').map(|n| n.parse().unwrap()).collect();
            (start.to_owned(), end.to_owned(), [v[0], v[1], v[2], v[3]])
        })
        .collect();
    assert_eq!(cues.len(), 4, "{track}");
    assert_eq!(cues[0].0, "00:00:00.000");
    assert_eq!(cues[3].1, "00:00:02.000");
    for pair in cues.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "cues are contiguous");
    }
    let tile_mean = |[x, y, w, h]: [u32; 4]| {
        assert!(x + w <= sheet.width() && y + h <= sheet.height());
        assert_eq!((w, h), (160, 120));
        let tile = image::imageops::crop_imm(&sheet, x, y, w, h).to_image();
        tile.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / tile.as_raw().len() as f64
    };
    assert!(
        tile_mean(cues[0].2) < 20.0,
        "the first tile shows the leader"
    );
    assert!(
        tile_mean(cues[3].2) > 60.0,
        "the last tile shows the pattern"
    );
}

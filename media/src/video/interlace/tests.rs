use caravan_testkit::{corpus, ffmpeg};

/// 2 s of moving test pattern, 720×480 at 29.97, FFV1 in AVI (which has no field-order flags),
/// woven from 59.94 fields per second (interlaced, top field first) or not. (`testsrc`, not
/// `testsrc2`: the latter's line patterns read as combing to `idet` even when progressive.)
fn unflagged_clip(dir: &std::path::Path, interlaced: bool) -> std::path::PathBuf {
    let path = dir.join(format!("unflagged-{interlaced}.avi"));
    let filter = if interlaced {
        "testsrc=s=720x480:r=60000/1001:d=2,tinterlace=interleave_top,setfield=prog"
    } else {
        "testsrc=s=720x480:r=30000/1001:d=2,setfield=prog"
    };
    ffmpeg::make(
        &[
            "-f", "lavfi", "-i", filter, "-c:v", "ffv1", "-pix_fmt", "yuv422p",
        ],
        &path,
    )
}

#[test]
fn interlacing_is_detected_when_the_stream_does_not_say() {
    let dir = tempfile::tempdir().unwrap();
    let profile = caravan_proto::Profile::default();
    let scan = |interlaced: bool| {
        let master = unflagged_clip(dir.path(), interlaced);
        let out = dir.path().join(format!("out-{interlaced}"));
        std::fs::create_dir_all(&out).unwrap();
        let made =
            crate::video::run(&master, &out, &profile, &Default::default(), &mut |_| {}).unwrap();
        made.master_info["scan"].clone()
    };
    let woven = scan(true);
    assert_eq!(woven["scan"], "interlaced, top field first", "{woven}");
    assert!(woven["basis"].as_str().unwrap().starts_with("detected"));
    // The access copy was deinterlaced: FFmpeg's own idet finds no combing left in it.
    let found = ffmpeg::idet(&dir.path().join("out-true/access.mp4"));
    assert!(found.progressive > 4 * (found.tff + found.bff), "{found:?}");
    assert_progressive_stream(&dir.path().join("out-true/access.mp4"));
    let progressive = scan(false);
    assert_eq!(progressive["scan"], "progressive", "{progressive}");
    assert!(progressive["basis"]
        .as_str()
        .unwrap()
        .starts_with("detected"));
}

#[test]
fn an_unflagged_sd_capture_idet_cannot_read_is_taken_as_interlaced() {
    let Some(corpus) = corpus::dir(
        "an_unflagged_sd_capture_idet_cannot_read_is_taken_as_interlaced",
        "video",
    ) else {
        return;
    };
    let master = corpus.join("NYULibraries_KMVFFV1.mkv");
    let dir = tempfile::tempdir().unwrap();
    let profile = caravan_proto::Profile::default();
    let made = crate::video::run(
        &master,
        dir.path(),
        &profile,
        &Default::default(),
        &mut |_| {},
    )
    .unwrap();
    let scan = &made.master_info["scan"];
    assert_eq!(scan["scan"], "interlaced, bottom field first", "{scan}");
    assert!(scan["basis"]
        .as_str()
        .unwrap()
        .contains("SD broadcast raster"));
    // …and deinterlaced for it: the access copy is a progressive stream with no combing left.
    let access = dir.path().join("access.mp4");
    assert_progressive_stream(&access);
    let found = ffmpeg::idet(&access);
    assert_eq!(
        found.tff + found.bff,
        0,
        "combing left in the access copy: {found:?}"
    );
}

/// `video`'s first video stream declares itself progressive.
fn assert_progressive_stream(video: &std::path::Path) {
    let field_order = ffmpeg::probe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=field_order",
            "-of",
            "csv=p=0",
        ],
        video,
    );
    assert_eq!(field_order.trim(), "progressive", "{}", video.display());
}

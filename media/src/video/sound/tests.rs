use caravan_testkit::ffmpeg;

#[test]
fn audio_loudness_is_measured_and_optionally_normalised_to_ebu_r128() {
    let dir = tempfile::tempdir().unwrap();
    let master = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=160x120:r=25:d=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:d=6",
            "-af",
            "volume=8dB",
            "-ac",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "pcm_s16le",
        ],
        &dir.path().join("tone.mkv"),
    );
    let run = |normalise: bool| {
        let mut profile = caravan_proto::Profile::default();
        profile.video.loudness_normalise = normalise;
        let out = dir.path().join(format!("out-{normalise}"));
        std::fs::create_dir_all(&out).unwrap();
        let made =
            crate::video::run(&master, &out, &profile, &Default::default(), &mut |_| {}).unwrap();
        let ours = made.master_info["access_audio_loudness"]["integrated_lufs"]
            .as_f64()
            .unwrap();
        (ours, ffmpeg::integrated_lufs(&out.join("access.mp4")))
    };
    // As is: our meter agrees with FFmpeg's on the encoded result.
    let (ours, theirs) = run(false);
    assert!(
        (ours - theirs).abs() < 0.5,
        "ours {ours} vs ffmpeg {theirs}"
    );
    assert!(ours > -16.0, "the tone is well above the target: {ours}");
    // Normalised: at the target, as FFmpeg measures it.
    let (ours, theirs) = run(true);
    assert!((theirs + 23.0).abs() < 1.0, "normalised to {theirs} LUFS");
    assert!(
        (ours - theirs).abs() < 0.5,
        "ours {ours} vs ffmpeg {theirs}"
    );
}

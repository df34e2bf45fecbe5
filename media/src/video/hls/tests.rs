//! The HLS ladder, read back with the FFmpeg CLI.

use caravan_proto::{HlsRung, Profile};
use caravan_testkit::ffmpeg;

use super::{avc_codec_string, plan, Rung};

#[test]
fn rungs_are_capped_at_the_source_and_keep_its_display_aspect() {
    let p = caravan_proto::HlsProfile::default();
    let heights = |rungs: Vec<Rung>| {
        rungs
            .iter()
            .map(|r| (r.width, r.height))
            .collect::<Vec<_>>()
    };
    // NTSC 720×486 at SAR 9:10 is 4:3: rungs of 480 and 360 lines, square pixels.
    assert_eq!(
        heights(plan(&p, 720, 486, (9, 10))),
        [(640, 480), (480, 360)]
    );
    // HD: every rung.
    assert_eq!(
        heights(plan(&p, 1920, 1080, (1, 1))),
        [(1920, 1080), (1280, 720), (854, 480), (640, 360)]
    );
    // Smaller than every rung: one rung at the source's own size, with the lowest rung's cap.
    let tiny = plan(&p, 320, 240, (1, 1));
    assert_eq!(heights(tiny.clone()), [(320, 240)]);
    assert_eq!(tiny[0].max_kbps, 800);
}

#[test]
fn codec_strings_come_from_the_sps() {
    // Annex B (x264 with global headers): start code, NAL type 7, High (100) level 3.1.
    let annex_b = [0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac, 0, 0, 0, 1, 0x68];
    assert_eq!(avc_codec_string(&annex_b).as_deref(), Some("avc1.64001f"));
    // avcC: version 1, then profile, compatibility, level.
    assert_eq!(
        avc_codec_string(&[1, 0x4d, 0x40, 0x28, 0xff]).as_deref(),
        Some("avc1.4d4028")
    );
    assert_eq!(avc_codec_string(&[0, 0, 1, 0x68, 1, 2, 3]), None);
}

/// Start times of the segments a media playlist lists, from its `#EXTINF` durations.
fn segment_starts(playlist: &str) -> Vec<f64> {
    let mut t = 0.0;
    let mut starts = Vec::new();
    for line in playlist.lines() {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            starts.push(t);
            t += rest.trim_end_matches(',').parse::<f64>().unwrap();
        }
    }
    starts
}

#[test]
fn the_ladder_is_one_decode_of_aligned_cmaf_rungs_ffprobe_reads() {
    let dir = tempfile::tempdir().unwrap();
    // 11 s of PAL 16:9 (720×576, SAR 64:45), interlaced, with 4-channel audio.
    let master = ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=720x576:r=25:d=11,setsar=64/45",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:d=11",
            "-filter_complex",
            "[1:a]pan=4c|c0=c0|c1=c0|c2=c0|c3=c0[a]",
            "-map",
            "0:v",
            "-map",
            "[a]",
            "-c:v",
            "ffv1",
            "-field_order",
            "tt",
            "-c:a",
            "pcm_s16le",
        ],
        &dir.path().join("pal.mkv"),
    );
    let mut profile = Profile::default();
    profile.video.hls.segment_seconds = 4.0;
    profile.video.hls.rungs = [(1080, 5000), (576, 2000), (360, 800), (240, 400)]
        .map(|(height, max_kbps)| HlsRung { height, max_kbps })
        .to_vec();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let made =
        crate::video::run(&master, &out, &profile, &Default::default(), &mut |_| {}).unwrap();

    // Every output listed exists; the rung taller than the source was left out.
    let names: Vec<&str> = made.outputs.iter().map(|o| o.name.as_str()).collect();
    for name in &names {
        assert!(out.join(name).is_file(), "{name} is listed but missing");
    }
    for rung in ["576p", "360p", "240p"] {
        for file in ["index.m3u8", "init.mp4", "seg_00000.m4s", "seg_00002.m4s"] {
            let name = format!("hls/{rung}/{file}");
            assert!(names.contains(&name.as_str()), "{name} not in {names:?}");
        }
    }
    assert!(!names.iter().any(|n| n.starts_with("hls/1080p")));
    assert!(names.contains(&"hls/master.m3u8") && names.contains(&"access.mp4"));

    // The master playlist: one variant per rung, with measured bandwidths and real codecs.
    let master_pl = std::fs::read_to_string(out.join("hls/master.m3u8")).unwrap();
    let variants: Vec<(&str, &str)> = master_pl
        .lines()
        .zip(master_pl.lines().skip(1))
        .filter(|(l, _)| l.starts_with("#EXT-X-STREAM-INF:"))
        .collect();
    let expected = [
        ("576p", "1024x576"),
        ("360p", "640x360"),
        ("240p", "426x240"),
    ];
    assert_eq!(variants.len(), 3, "{master_pl}");
    let mut starts = Vec::new();
    for ((inf, uri), (rung, resolution)) in variants.iter().zip(expected) {
        assert_eq!(*uri, format!("{rung}/index.m3u8"));
        let attr = |key: &str| -> String {
            let at = inf
                .find(&format!("{key}="))
                .unwrap_or_else(|| panic!("{key} in {inf}"));
            let rest = &inf[at + key.len() + 1..];
            let value = if let Some(quoted) = rest.strip_prefix('"') {
                &quoted[..quoted.find('"').unwrap()]
            } else {
                rest.split(',').next().unwrap()
            };
            value.to_owned()
        };
        assert_eq!(attr("RESOLUTION"), resolution);
        assert_eq!(attr("FRAME-RATE"), "25.000");
        let (peak, average): (u64, u64) = (
            attr("BANDWIDTH").parse().unwrap(),
            attr("AVERAGE-BANDWIDTH").parse().unwrap(),
        );
        assert!(peak >= average && average > 100_000, "{inf}");
        let codecs = attr("CODECS");
        let (video_codec, audio_codec) = codecs.split_once(',').unwrap();
        assert_eq!(audio_codec, "mp4a.40.2");

        // ffprobe reads the rung: H.264 High at the size promised, with the level CODECS names,
        // square pixels, 4:2:0, BT.601 (SD), and AAC stereo.
        let playlist = out.join("hls").join(rung).join("index.m3u8");
        let streams: serde_json::Value = serde_json::from_str(&ffmpeg::probe(
            &["-show_entries", "stream=codec_name,profile,level,width,height,pix_fmt,sample_aspect_ratio,color_space,channels", "-of", "json"],
            &playlist,
        ))
        .unwrap();
        let video = streams["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_name"] == "h264")
            .unwrap();
        let audio = streams["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_name"] == "aac")
            .unwrap();
        assert_eq!(
            format!("{}x{}", video["width"], video["height"]),
            resolution
        );
        assert_eq!(video["profile"], "High");
        assert_eq!(
            video_codec,
            format!("avc1.6400{:02x}", video["level"].as_u64().unwrap())
        );
        assert_eq!(video["pix_fmt"], "yuv420p");
        assert_eq!(video["color_space"], "smpte170m");
        assert_ne!(video["sample_aspect_ratio"], "64:45");
        assert_eq!(audio["channels"], 2);

        // Segment boundaries are keyframes; every frame is there once.
        let text = std::fs::read_to_string(&playlist).unwrap();
        assert!(text.contains("#EXT-X-MAP:URI=\"init.mp4\"") && text.contains("#EXT-X-ENDLIST"));
        let rung_starts = segment_starts(&text);
        let packets = ffmpeg::probe(
            &[
                "-select_streams",
                "v",
                "-show_entries",
                "packet=pts_time,flags",
                "-of",
                "csv=p=0",
            ],
            &playlist,
        );
        let mut keyframes = Vec::new();
        let mut frames = 0;
        for line in packets.lines().filter(|l| !l.is_empty()) {
            let (pts, flags) = line.split_once(',').unwrap();
            frames += 1;
            if flags.starts_with('K') {
                keyframes.push(pts.parse::<f64>().unwrap());
            }
        }
        assert_eq!(frames, 275, "11 s at 25 fps in {rung}");
        let first = keyframes[0];
        for start in &rung_starts {
            assert!(
                keyframes.iter().any(|k| (k - first - start).abs() < 0.002),
                "{rung}: no keyframe at segment start {start} (keyframes {keyframes:?})"
            );
        }
        starts.push(rung_starts);
    }
    // The same cut points in every rung, every 4 s.
    assert_eq!(starts[0], [0.0, 4.0, 8.0]);
    assert!(starts.iter().all(|s| *s == starts[0]), "{starts:?}");

    // ffprobe opens the master playlist and finds every variant.
    let variants = ffmpeg::probe(
        &["-show_entries", "stream=width,height", "-of", "csv=p=0"],
        &out.join("hls/master.m3u8"),
    );
    for (_, resolution) in expected {
        assert!(
            variants.contains(&resolution.replace('x', ",")),
            "{resolution} in {variants}"
        );
    }
    let ladder = &made.master_info["hls_ladder"];
    assert_eq!(ladder.as_array().unwrap().len(), 3, "{ladder}");
}

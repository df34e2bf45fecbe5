//! The HLS ladder, the watermark and the preservation copy, read back with the FFmpeg CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use caravan_proto::{HlsRung, Profile};

use super::hls::{avc_codec_string, plan, Rung};
use crate::tests::ffmpeg_make;

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

fn ffprobe(args: &[&str], path: &Path) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe is installed");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
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
    let master = ffmpeg_make(
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
        crate::pipeline::video::run(&master, &out, &profile, &Default::default(), &mut |_| {})
            .unwrap();

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
        let streams: serde_json::Value = serde_json::from_str(&ffprobe(
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
        let packets = ffprobe(
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
    let variants = ffprobe(
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

#[test]
fn a_logo_watermark_is_burned_into_every_rendition_in_display_proportions() {
    let dir = tempfile::tempdir().unwrap();
    // Grey PAL 16:9: stored 720×576, displayed 1024×576.
    let master = ffmpeg_make(
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
        crate::pipeline::video::run(&master, &out, &profile, &Default::default(), &mut |_| {})
            .unwrap();
    assert_eq!(
        made.master_info["watermark"]["logo_sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );

    let frame_of = |video: &Path| {
        let png = video.with_extension("png");
        ffmpeg_make(&["-i", &video.to_string_lossy(), "-frames:v", "1"], &png);
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

/// What the FFmpeg CLI prints when it writes `args` to the muxer `format` on standard output.
fn ffmpeg_print(input: &Path, args: &[&str]) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(input)
        .args(args)
        .arg("-")
        .output()
        .expect("ffmpeg is installed");
    assert!(
        out.status.success(),
        "ffmpeg {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The MD5 of every decoded picture of the first video stream, in order (`framemd5`'s last
/// column), after converting to `pix_fmt`.
fn picture_hashes(video: &Path, pix_fmt: &str) -> Vec<String> {
    ffmpeg_print(
        video,
        &["-map", "0:v:0", "-pix_fmt", pix_fmt, "-f", "framemd5"],
    )
    .lines()
    .filter(|l| !l.starts_with('#'))
    .map(|l| l.rsplit(',').next().unwrap().trim().to_owned())
    .collect()
}

/// The MD5 of all decoded samples of audio stream `k`, as 24-bit integers (what FLAC keeps of
/// 32-bit samples; 16- and 24-bit samples exactly).
fn sound_hash(video: &Path, k: usize) -> String {
    ffmpeg_print(
        video,
        &[
            "-map",
            &format!("0:a:{k}"),
            "-c:a",
            "pcm_s24le",
            "-f",
            "md5",
        ],
    )
}

/// FFV1's configuration record as its decoder reports it (`ver:3.4 … ec:1 intra:1`).
fn ffv1_record(video: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "debug", "-debug", "pict", "-i"])
        .arg(video)
        .args(["-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"])
        .output()
        .expect("ffmpeg is installed");
    let log = String::from_utf8_lossy(&out.stderr);
    log.lines()
        .find(|l| l.contains("global: ver:"))
        .unwrap_or_else(|| panic!("no FFV1 configuration record in {log}"))
        .to_owned()
}

fn streams_of(video: &Path) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&ffprobe(
        &[
            "-show_entries",
            "stream=codec_name,codec_type,pix_fmt,field_order,sample_aspect_ratio,color_space,color_primaries,color_transfer,channels,sample_fmt,bits_per_raw_sample,r_frame_rate,avg_frame_rate",
            "-of",
            "json",
        ],
        video,
    ))
    .unwrap();
    json["streams"].as_array().unwrap().clone()
}

fn preserve(
    master: &Path,
    audio: caravan_proto::PreservationAudio,
) -> (PathBuf, serde_json::Value) {
    let out = master.with_extension("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut profile = Profile::default();
    profile.video.hls.enabled = false;
    profile.video.storyboard = false;
    profile.video.preservation.enabled = true;
    profile.video.preservation.audio = audio;
    let made =
        crate::pipeline::video::run(master, &out, &profile, &Default::default(), &mut |_| {})
            .unwrap();
    let names: Vec<&str> = made.outputs.iter().map(|o| o.name.as_str()).collect();
    assert!(names.contains(&"access.mp4"), "{names:?}");
    let kept = made.master_info["preservation"].clone();
    if kept["made"] == true {
        assert!(names.contains(&"preservation.mkv"), "{names:?}");
    } else {
        assert!(!names.contains(&"preservation.mkv"), "{names:?}");
    }
    (out.join("preservation.mkv"), kept)
}

#[test]
fn a_prores_master_is_kept_as_lossless_ffv1_version_3_with_slice_crcs() {
    let dir = tempfile::tempdir().unwrap();
    // ProRes 422 HQ, NTSC interlaced top field first, 10-bit 4:2:2, SAR 10:11; 4-channel
    // 24-bit PCM and a stereo 16-bit big-endian pair.
    let master = ffmpeg_make(
        &[
            "-f", "lavfi", "-i", "testsrc2=s=720x486:r=30000/1001:d=2,setsar=10/11",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:d=2",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:d=2",
            "-filter_complex",
            "[1:a]pan=4c|c0=c0|c1=0.5*c0|c2=0.25*c0|c3=0.1*c0[q];[2:a]pan=stereo|c0=c0|c1=0.5*c0[s]",
            "-map", "0:v", "-map", "[q]", "-map", "[s]",
            "-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le",
            "-field_order", "tt",
            "-c:a:0", "pcm_s24le", "-c:a:1", "pcm_s16be",
        ],
        &dir.path().join("prores.mov"),
    );
    let (kept, described) = preserve(&master, caravan_proto::PreservationAudio::Flac);

    // FFV1 version 3, every frame a keyframe, slice CRCs on, 16 slices.
    let record = ffv1_record(&kept);
    assert!(record.contains("ver:3"), "{record}");
    assert!(record.contains("ec:1"), "{record}");
    assert!(record.contains("slices:4x4"), "{record}");
    let keyframes = ffprobe(
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
        ],
        &kept,
    );
    assert_eq!(keyframes.lines().filter(|l| l.starts_with('K')).count(), 60);
    assert_eq!(keyframes.lines().filter(|l| !l.is_empty()).count(), 60);

    // The pictures as they were: pixel format, field order, aspect.
    let (source, copy) = (streams_of(&master), streams_of(&kept));
    for key in ["pix_fmt", "field_order", "sample_aspect_ratio"] {
        assert_eq!(copy[0][key], source[0][key], "{key}");
    }
    assert_eq!(copy[0]["field_order"], "tt");
    // The frame rate is declared, not left to be guessed from timestamps (MediaInfo reads
    // Matroska's default duration): 30000/1001 stays exact.
    assert_eq!(copy[0]["r_frame_rate"], "30000/1001");
    assert_eq!(copy[0]["avg_frame_rate"], "30000/1001");
    assert_eq!(copy[0]["codec_name"], "ffv1");
    // Lossless: every decoded picture identical to the master's.
    let hashes = picture_hashes(&kept, "yuv422p10le");
    assert_eq!(hashes.len(), 60);
    assert_eq!(hashes, picture_hashes(&master, "yuv422p10le"));

    // Both audio streams, in order, compressed to FLAC without losing a sample.
    let audio: Vec<_> = copy.iter().filter(|s| s["codec_type"] == "audio").collect();
    assert_eq!(audio.len(), 2);
    assert_eq!(audio[0]["codec_name"], "flac");
    assert_eq!(audio[0]["channels"], 4);
    assert_eq!(audio[0]["bits_per_raw_sample"], "24");
    assert_eq!(audio[1]["codec_name"], "flac");
    assert_eq!(audio[1]["channels"], 2);
    for k in 0..2 {
        assert_eq!(sound_hash(&kept, k), sound_hash(&master, k), "audio {k}");
    }
    assert_eq!(described["video"]["frames"], 60, "{described}");
    assert_eq!(described["video"]["pixel_format"], "yuv422p10le");
    assert_eq!(described["audio"][0]["from"], "pcm_s24le");
    assert_eq!(described["audio"][0]["kept_as"], "flac");
    assert_eq!(described["audio"][1]["from"], "pcm_s16be");
}

#[test]
fn packed_uncompressed_video_is_rearranged_losslessly_and_pcm_can_be_copied() {
    let dir = tempfile::tempdir().unwrap();
    // Uncompressed 8-bit 4:2:2 in MOV ('2vuy', packed UYVY), which FFV1 cannot store as such;
    // PAL 4:3 progressive, 16-bit PCM.
    let master = ffmpeg_make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=720x576:r=25:d=1,setsar=16/15",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:d=1",
            "-c:v",
            "rawvideo",
            "-pix_fmt",
            "uyvy422",
            "-tag:v",
            "2vuy",
            "-c:a",
            "pcm_s16le",
        ],
        &dir.path().join("uncompressed.mov"),
    );
    let (kept, described) = preserve(&master, caravan_proto::PreservationAudio::Pcm);
    assert_eq!(
        described["video"]["converted_from"], "uyvy422",
        "{described}"
    );
    let copy = streams_of(&kept);
    assert_eq!(copy[0]["pix_fmt"], "yuv422p");
    assert_eq!(copy[0]["sample_aspect_ratio"], "16:15");
    // Back in the master's own packing, every picture is the master's.
    let hashes = picture_hashes(&kept, "uyvy422");
    assert_eq!(hashes.len(), 25);
    assert_eq!(hashes, picture_hashes(&master, "uyvy422"));
    // `pcm`: the PCM stream is copied packet for packet.
    assert_eq!(copy[1]["codec_name"], "pcm_s16le");
    assert_eq!(described["audio"][0]["copied"], true);
    assert_eq!(sound_hash(&kept, 0), sound_hash(&master, 0));
}

#[test]
fn old_ffv1_is_normalised_but_ffv1_version_3_in_matroska_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, args: &[&str]| {
        let mut all = vec![
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=1",
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=44100:d=1",
            "-c:v",
            "ffv1",
            "-c:a",
            "pcm_s16le",
        ];
        all.extend_from_slice(args);
        ffmpeg_make(&all, &dir.path().join(name))
    };
    // FFV1 version 1 in AVI, as early digitization projects wrote it: no slice CRCs.
    let avi = make("old.avi", &["-level", "1"]);
    let (kept, described) = preserve(&avi, caravan_proto::PreservationAudio::Flac);
    assert_eq!(described["made"], true, "{described}");
    assert!(ffv1_record(&kept).contains("ec:1"));
    assert_eq!(
        picture_hashes(&kept, "yuv420p"),
        picture_hashes(&avi, "yuv420p")
    );
    assert_eq!(streams_of(&kept)[1]["codec_name"], "flac");
    assert_eq!(sound_hash(&kept, 0), sound_hash(&avi, 0));
    // The FLAC stream's STREAMINFO was completed at the end: 44100 samples, and the MD5 of the
    // master's 16-bit samples, so any FLAC tool can verify the sound on its own.
    let flac = dir.path().join("sound.flac");
    ffmpeg_make(
        &["-i", &kept.to_string_lossy(), "-map", "0:a:0", "-c", "copy"],
        &flac,
    );
    let bytes = std::fs::read(&flac).unwrap();
    let info = &bytes[8..8 + 34];
    let samples = u64::from_be_bytes([
        0,
        0,
        0,
        info[13] & 0x0f,
        info[14],
        info[15],
        info[16],
        info[17],
    ]);
    assert_eq!(samples, 44100);
    let md5: String = info[18..34].iter().map(|b| format!("{b:02x}")).collect();
    let master_md5 = ffmpeg_print(&avi, &["-map", "0:a:0", "-c:a", "pcm_s16le", "-f", "md5"]);
    assert_eq!(format!("MD5={md5}"), master_md5.trim());

    // Already the preservation format: nothing made, and the receipt says why.
    let mkv = make("current.mkv", &["-level", "3", "-slicecrc", "1"]);
    let (kept, described) = preserve(&mkv, caravan_proto::PreservationAudio::Flac);
    assert_eq!(described["made"], false, "{described}");
    assert!(described["reason"]
        .as_str()
        .unwrap()
        .contains("already FFV1"));
    assert!(!kept.exists());
}

#[test]
fn a_lossy_master_keeps_its_colour_tags_and_its_decoded_sound_in_flac() {
    let dir = tempfile::tempdir().unwrap();
    // An H.264/AAC access file standing in for a lost master: BT.709 tags, AAC stereo.
    let master = ffmpeg_make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=1280x720:r=25:d=1",
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=48000:d=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-colorspace",
            "bt709",
            "-c:a",
            "aac",
            "-ac",
            "2",
        ],
        &dir.path().join("h264.mp4"),
    );
    let (kept, described) = preserve(&master, caravan_proto::PreservationAudio::Flac);
    let (source, copy) = (streams_of(&master), streams_of(&kept));
    for key in [
        "pix_fmt",
        "color_space",
        "color_primaries",
        "color_transfer",
    ] {
        assert_eq!(copy[0][key], source[0][key], "{key}");
    }
    assert_eq!(copy[0]["color_space"], "bt709");
    assert_eq!(
        picture_hashes(&kept, "yuv420p"),
        picture_hashes(&master, "yuv420p")
    );
    // AAC decodes to float: kept as 24-bit FLAC, equal to the decoded sound at 24 bits.
    assert_eq!(copy[1]["codec_name"], "flac");
    assert_eq!(copy[1]["bits_per_raw_sample"], "24");
    assert_eq!(described["audio"][0]["from"], "aac");
    assert_eq!(sound_hash(&kept, 0), sound_hash(&master, 0));
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
    let master = ffmpeg_make(
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
    let rotation = ffprobe(
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
        crate::pipeline::video::run(&master, &out, &profile, &Default::default(), &mut |_| {})
            .unwrap();
    assert_eq!(made.master_info["rotation_degrees"], 90);
    // Portrait, as the CLI (which turns by the display matrix) shows the first frame.
    let access = out.join("access.mp4");
    let size = ffprobe(
        &["-show_entries", "stream=width,height", "-of", "csv=p=0"],
        &access,
    );
    assert_eq!(size.trim(), "360,640");
    let rung = out.join("hls/320p/index.m3u8");
    let size = ffprobe(
        &["-show_entries", "stream=width,height", "-of", "csv=p=0"],
        &rung,
    );
    assert_eq!(size.lines().next(), Some("180,320"), "{size}");
    let first_frame = |video: &Path, name: &str| {
        let png = dir.path().join(name);
        ffmpeg_make(&["-i", &video.to_string_lossy(), "-frames:v", "1"], &png);
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

//! The preservation copy, read back with the FFmpeg CLI: its pictures and sound equal the
//! master's, and FFV1 says it is version 3 with slice CRCs.

use std::path::{Path, PathBuf};
use std::process::Command;

use caravan_proto::Profile;
use caravan_testkit::ffmpeg;

/// The MD5 of every decoded picture of the first video stream, in order (`framemd5`'s last
/// column), after converting to `pix_fmt`.
fn picture_hashes(video: &Path, pix_fmt: &str) -> Vec<String> {
    ffmpeg::print(
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
    ffmpeg::print(
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
    let json: serde_json::Value = serde_json::from_str(&ffmpeg::probe(
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
    let made = crate::video::run(master, &out, &profile, &Default::default(), &mut |_| {}).unwrap();
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
    let master = ffmpeg::make(
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
    let keyframes = ffmpeg::probe(
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
    let master = ffmpeg::make(
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
        ffmpeg::make(&all, &dir.path().join(name))
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
    ffmpeg::make(
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
    let master_md5 = ffmpeg::print(&avi, &["-map", "0:a:0", "-c:a", "pcm_s16le", "-f", "md5"]);
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
    let master = ffmpeg::make(
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

use caravan_proto::ProfileName;

use crate::ProfileSet;

#[test]
fn profile_files_override_only_what_they_name_and_reject_typos() {
    let set =
        ProfileSet::parse("[profiles.exhibition]\nimage = { access_long_edge = 3000 }\n").unwrap();
    let p = set.get(&ProfileName::parse("exhibition").unwrap()).unwrap();
    assert_eq!(p.image.access_long_edge, 3000);
    assert_eq!(p.image.thumbnail_long_edge, 256);
    assert!(set.get(&ProfileName::default_profile()).is_some());
    assert!(ProfileSet::parse("[profiles.x]\nimage = { acess_long_edge = 3000 }\n").is_err());
    assert!(ProfileSet::parse("[profiles.x]\nimage = { access_quality = 0 }\n").is_err());
    assert!(ProfileSet::parse("[profiles.\"../x\"]\n").is_err());
    // Nested settings: known ones parse, typos at any depth are refused.
    let ladder = "[profiles.stream]\nvideo = { access_mp4 = false, hls = { segment_seconds = 4, rungs = [{ height = 720, max_kbps = 3000 }] } }\n";
    let set = ProfileSet::parse(ladder).unwrap();
    let p = set.get(&ProfileName::parse("stream").unwrap()).unwrap();
    assert_eq!(
        (p.video.hls.segment_seconds, p.video.hls.rungs.len()),
        (4.0, 1)
    );
    assert!(!p.video.access_mp4);
    let err =
        ProfileSet::parse("[profiles.x]\nvideo = { hls = { segmnt_seconds = 4 } }\n").unwrap_err();
    assert!(err.contains("video.hls.segmnt_seconds"), "{err}");
    assert!(ProfileSet::parse(
        "[profiles.x]\nvideo = { hls = { rungs = [{ height = 720, max_kbps = 3000, crf = 1 }] } }\n"
    )
    .is_err());
    assert!(ProfileSet::parse("[profiles.x]\nvideo = { hls = { rungs = [] } }\n").is_err());
    assert!(ProfileSet::parse(
        "[profiles.x]\nvideo = { access_mp4 = false, hls = { enabled = false } }\n"
    )
    .is_err());
}

#[test]
fn preservation_settings_are_checked_when_profiles_load() {
    let ok = "[profiles.a]\nvideo = { preservation = { enabled = true, audio = \"pcm\", slices = 24 } }\n";
    let set = ProfileSet::parse(ok).unwrap();
    let p = set.get(&ProfileName::parse("a").unwrap()).unwrap();
    assert!(p.video.preservation.enabled);
    assert_eq!(
        p.video.preservation.audio,
        caravan_proto::PreservationAudio::Pcm
    );
    // 7 slices cannot tile a frame (v × h with v ≤ h < 2v); unknown audio forms are refused.
    let err = ProfileSet::parse(
        "[profiles.a]\nvideo = { preservation = { enabled = true, slices = 7 } }\n",
    )
    .unwrap_err();
    assert!(err.contains("slices = 7"), "{err}");
    assert!(ProfileSet::parse(
        "[profiles.a]\nvideo = { preservation = { enabled = true, audio = \"mp3\" } }\n"
    )
    .is_err());
    let valid: Vec<u32> = (1..=30)
        .filter(|&n| caravan_proto::ffv1_slices_valid(n))
        .collect();
    assert_eq!(valid, [4, 6, 9, 12, 15, 16, 20, 24, 25, 28, 30]);
}

#[test]
fn the_deployment_example_profiles_load_as_they_are() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/profiles.example.toml");
    let set = ProfileSet::load(&path).unwrap();
    let get = |name: &str| set.get(&ProfileName::parse(name).unwrap()).unwrap();
    assert!(get("archive").video.preservation.enabled);
    assert!(get("exhibition").image.watermark.enabled);
    assert!(get("exhibition").manifest.provider.is_some());
    assert!(!get("low-bandwidth").video.access_mp4);
    assert_eq!(get("large-masters").limits.max_pixels, 600_000_000);
}

#[test]
fn manifest_settings_load_and_bad_addresses_are_refused() {
    let text = "[profiles.m]\nmanifest = { receipts_base_url = \"https://trust.example.org/receipts\", provider = { homepage = \"https://museum.example.org/\", label = { en = \"The Museum\", ar = \"المتحف\" } } }\n";
    let set = ProfileSet::parse(text).unwrap();
    let m = &set.get(&ProfileName::parse("m").unwrap()).unwrap().manifest;
    assert!(m.enabled);
    assert_eq!(
        m.receipts_base_url.as_deref(),
        Some("https://trust.example.org/receipts")
    );
    let provider = m.provider.as_ref().unwrap();
    assert_eq!(provider.label["ar"], "المتحف");
    let err =
        ProfileSet::parse("[profiles.m]\nmanifest = { recipts_base_url = \"x\" }\n").unwrap_err();
    assert!(err.contains("manifest.recipts_base_url"), "{err}");
    let err = ProfileSet::parse("[profiles.m]\nmanifest = { receipts_base_url = \"ftp://x\" }\n")
        .unwrap_err();
    assert!(err.contains("receipts_base_url"), "{err}");
    assert!(ProfileSet::parse(
        "[profiles.m]\nmanifest = { provider = { homepage = \"https://m.example/\", label = {} } }\n"
    )
    .is_err());
    let off = ProfileSet::parse("[profiles.m]\nmanifest = { enabled = false }\n").unwrap();
    assert!(
        !off.get(&ProfileName::parse("m").unwrap())
            .unwrap()
            .manifest
            .enabled
    );
}

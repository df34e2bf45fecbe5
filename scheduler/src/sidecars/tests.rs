use caravan_proto::{FailureCode, SubtitleFormat};

use crate::scan::{scan, ScanOutcome};
use crate::sidecars::pair;

/// An EBML header: what Matroska files start with (recognised as video by content).
const MKV_HEAD: &[u8] = &[
    0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88, b'm', b'a', b't', b'r',
    b'o', b's', b'k', b'a',
];

#[tokio::test]
async fn subtitle_files_beside_a_video_travel_with_it_and_others_are_refused_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    let mut film = MKV_HEAD.to_vec();
    film.resize(4096, 0);
    write("reels/film.mkv", &film);
    write(
        "reels/film.th.vtt",
        b"WEBVTT\n\n00:00.000 --> 00:01.000\nx\n",
    );
    write(
        "reels/film.ar.srt",
        b"1\n00:00:00,000 --> 00:00:01,000\nx\n",
    );
    write("reels/orphan.fr.vtt", b"WEBVTT\n");
    write("reels/film.not a tag.vtt", b"WEBVTT\n");
    write("film.th.vtt", b"WEBVTT\n");
    let mut files = scan(dir.path(), |_| {}).await.unwrap();
    let paired = pair(&mut files);

    let with_film = &paired["reels/film.mkv"];
    let found: Vec<(&str, SubtitleFormat, &str)> = (with_film.iter())
        .map(|f| (f.language.as_str(), f.format, f.source_name.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("ar", SubtitleFormat::Srt, "reels/film.ar.srt"),
            ("th", SubtitleFormat::Vtt, "reels/film.th.vtt"),
        ]
    );
    assert_eq!(with_film[1].sha256.len(), 64);
    // The rest stay in the batch, each refused with what to do.
    let refused = |name: &str| {
        let file = files.iter().find(|f| f.source_name == name).unwrap();
        match &file.outcome {
            ScanOutcome::Rejected { code, message } => {
                assert_eq!(*code, FailureCode::InvalidSubtitles, "{name}");
                message.clone()
            }
            other => panic!("{name}: {other:?}"),
        }
    };
    assert!(refused("reels/orphan.fr.vtt").contains("no video master orphan.*"));
    assert!(refused("film.th.vtt").contains("no video master film.*"));
    assert!(refused("reels/film.not a tag.vtt").contains("BCP 47"));
    assert!(files.iter().any(|f| f.source_name == "reels/film.mkv"));
    assert!(!files.iter().any(|f| f.source_name == "reels/film.th.vtt"));
}

use caravan_proto::ProfileName;
use caravan_worker::{Isolation, WorkerConfig};
use tokio_util::sync::CancellationToken;

use crate::embedded;
use crate::scan::{scan, ScanOutcome};

fn sample_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    image::RgbImage::from_fn(64, 32, |x, _| image::Rgb([x as u8, 0, 0]))
        .save(root.join("a.png"))
        .unwrap();
    image::RgbImage::from_fn(32, 64, |_, y| image::Rgb([0, y as u8, 0]))
        .save(root.join("sub/b — 写真.jpg"))
        .unwrap();
    // The same bytes as a.png under another name, and a PNG named like a JPEG.
    std::fs::copy(root.join("a.png"), root.join("sub/a-copy.png")).unwrap();
    std::fs::copy(root.join("a.png"), root.join("looks-like.jpg")).unwrap();
    std::fs::write(root.join("notes.txt"), "not media").unwrap();
    std::fs::write(root.join(".DS_Store"), "hidden").unwrap();
    // A JPEG header followed by garbage: sniffed as an image, fails in the worker.
    std::fs::write(
        root.join("broken.jpg"),
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00garbage garbage",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn scan_recognises_content_and_skips_hidden_files() {
    let dir = sample_folder();
    let files = scan(dir.path(), |_| {}).await.unwrap();
    let names: Vec<_> = files.iter().map(|f| f.source_name.as_str()).collect();
    assert!(!names.contains(&".DS_Store"));
    assert_eq!(names.len(), 6, "{names:?}");
    let kind_of = |name: &str| match &files
        .iter()
        .find(|f| f.source_name == name)
        .unwrap()
        .outcome
    {
        ScanOutcome::Media { sniffed, .. } => sniffed.media_type.to_owned(),
        ScanOutcome::Rejected { code, .. } => (*code).to_owned(),
    };
    assert_eq!(kind_of("looks-like.jpg"), "image/png");
    assert_eq!(kind_of("notes.txt"), "unsupported_format");
}

fn config(scratch: &std::path::Path) -> WorkerConfig {
    let mut config = WorkerConfig::new(Isolation::InProcess);
    config.slots = 2;
    config.scratch_dir = scratch.to_owned();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_run_processes_a_folder_and_a_second_run_queues_nothing() {
    let dir = sample_folder();
    let out = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let profile = ProfileName::default_profile();

    let first = embedded::run(
        dir.path(),
        out.path(),
        profile.clone(),
        config(scratch.path()),
        false,
        false,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(first.is_complete(), "{first}");
    let mut done: Vec<_> = first.done.iter().map(|i| i.source_name.as_str()).collect();
    done.sort();
    assert_eq!(done, vec!["a.png", "sub/b — 写真.jpg"], "{first}");
    assert_eq!(first.duplicates.len(), 2, "{first}");
    assert_eq!(first.failed.len(), 1, "{first}");
    assert_eq!(first.failed[0].source_name, "broken.jpg");
    assert_eq!(first.failed[0].code, "undecodable_input");
    assert_eq!(first.rejected.len(), 1);
    assert_eq!(first.rejected[0].code, "unsupported_format");

    let second = embedded::run(
        dir.path(),
        out.path(),
        profile,
        config(scratch.path()),
        false,
        false,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(second.done.is_empty(), "{second}");
    assert_eq!(second.already_done.len(), 2, "{second}");
    assert_eq!(second.failed.len(), 1, "{second}");
    assert!(
        second.failed[0].message.contains("earlier batch"),
        "{second}"
    );
    let index = crate::status::load_index(
        &caravan_store::Store::Local(caravan_store::LocalStore::new(out.path())),
        &caravan_proto::BatchId::parse(&second.batch_id).unwrap(),
    )
    .await
    .unwrap();
    assert!(!index
        .entries
        .iter()
        .any(|e| matches!(e.disposition, caravan_proto::Disposition::Queued { .. })));
}

#[test]
fn the_catalogue_reads_spreadsheet_exports_and_names_what_is_wrong() {
    use crate::metadata::Catalogue;
    // Excel-style: byte-order mark, semicolons, quoted cells with the separator, any script.
    let text = "\u{feff}File;Title;Creator;Rights;Rights_URI\r\n\
                ./reels\\kmv-001.mkv;\"Kuwait; 1962\";Studio;© SMA;http://rightsstatements.org/vocab/InC/1.0/\r\n\
                prints/hokusai.tif;神奈川沖浪裏;葛飾北斎;;\r\n";
    let catalogue = Catalogue::parse(text).unwrap();
    let reel = catalogue.get("reels/kmv-001.mkv");
    assert_eq!(reel.title.as_deref(), Some("Kuwait; 1962"));
    assert_eq!(
        reel.rights_uri.as_deref(),
        Some("http://rightsstatements.org/vocab/InC/1.0/")
    );
    let print = catalogue.get("prints/hokusai.tif");
    assert_eq!(print.creator.as_deref(), Some("葛飾北斎"));
    assert_eq!(print.rights, None, "empty cells are absent");
    assert!(catalogue.get("other.tif").is_empty());
    assert_eq!(
        catalogue.unmatched(&["prints/hokusai.tif"]),
        ["reels/kmv-001.mkv"]
    );

    let err = |text: &str| Catalogue::parse(text).unwrap_err();
    assert!(err("file,titel\na.tif,x\n").contains("unknown column \"titel\""));
    assert!(err("title\nx\n").contains("no \"file\" column"));
    assert!(err("file,title\na.tif,x\na.tif,y\n").contains("line 3"));
    assert!(err("file,rights_uri\na.tif,InC\n").contains("not a web address"));
    assert!(err("file,title\na.tif,x,extra\n").contains("line 2"));
}

use caravan_proto::sniff::Sniffed;

use super::{scan, ScanOutcome};

fn sample_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    caravan_testkit::fixtures::small_submission(dir.path());
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
        ScanOutcome::Media {
            sniffed: Sniffed { media_type, .. },
            ..
        } => (*media_type).to_owned(),
        ScanOutcome::Rejected { code, .. } => code.as_str().to_owned(),
    };
    assert_eq!(kind_of("looks-like.jpg"), "image/png");
    assert_eq!(kind_of("notes.txt"), "unsupported_format");
}

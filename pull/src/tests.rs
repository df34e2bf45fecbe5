use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::*;

/// A bag in `root` holding `files` (paths below `data/`), its manifests made with `sha2`.
fn make_bag(root: &Path, files: &[(&str, &[u8])]) {
    let sha = |bytes: &[u8]| hex::encode(Sha256::digest(bytes));
    let mut manifest = String::new();
    let mut octets = 0;
    for (path, bytes) in files {
        let file = root.join("data").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
        manifest.push_str(&format!("{}  data/{path}\n", sha(bytes)));
        octets += bytes.len();
    }
    let bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
    let info = format!("Payload-Oxum: {octets}.{}\n", files.len());
    std::fs::write(root.join("bagit.txt"), bagit).unwrap();
    std::fs::write(root.join("bag-info.txt"), &info).unwrap();
    std::fs::write(root.join("manifest-sha256.txt"), &manifest).unwrap();
    let tags = format!(
        "{}  bagit.txt\n{}  bag-info.txt\n{}  manifest-sha256.txt\n",
        sha(bagit.as_bytes()),
        sha(info.as_bytes()),
        sha(manifest.as_bytes())
    );
    std::fs::write(root.join("tagmanifest-sha256.txt"), tags).unwrap();
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

async fn pull_folder(from: &Path, to: &Path) -> Result<Summary, PullError> {
    let source = Source::parse(from.to_str().unwrap(), Duration::from_secs(5)).unwrap();
    pull(&source, to, &PullOptions::default(), &Quiet).await
}

#[tokio::test]
async fn a_folder_pack_is_pulled_whole_and_a_second_pull_fetches_nothing() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let big = bytes(700_000, 1);
    make_bag(
        from.path(),
        &[("a.bin", &big), ("ไหม/b.txt", "เส้นไหม".as_bytes())],
    );
    let first = pull_folder(from.path(), to.path()).await.unwrap();
    assert!(first.complete);
    assert_eq!(
        (first.files, first.downloaded, first.already_there),
        (2, 2, 0)
    );
    assert_eq!(std::fs::read(to.path().join("data/a.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read_to_string(to.path().join("data/ไหม/b.txt")).unwrap(),
        "เส้นไหม"
    );
    for tag in [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "tagmanifest-sha256.txt",
    ] {
        assert_eq!(
            std::fs::read(to.path().join(tag)).unwrap(),
            std::fs::read(from.path().join(tag)).unwrap()
        );
    }
    assert!(!to.path().join(".caravan-pull").exists());

    let again = pull_folder(from.path(), to.path()).await.unwrap();
    assert!(again.complete);
    assert_eq!((again.downloaded, again.already_there), (0, 2));
    let tag_bytes: u64 = [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "tagmanifest-sha256.txt",
    ]
    .iter()
    .map(|t| std::fs::metadata(from.path().join(t)).unwrap().len())
    .sum();
    assert_eq!(
        again.bytes_transferred, tag_bytes,
        "only the tag files are read again"
    );
}

#[tokio::test]
async fn a_partial_file_resumes_from_its_length() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let big = bytes(500_000, 2);
    make_bag(from.path(), &[("a.bin", &big)]);
    let part = to
        .path()
        .join(".caravan-pull/parts")
        .join(hex::encode(Sha256::digest(b"data/a.bin")));
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, &big[..200_000]).unwrap();
    let summary = pull_folder(from.path(), to.path()).await.unwrap();
    assert!(summary.complete);
    assert_eq!(std::fs::read(to.path().join("data/a.bin")).unwrap(), big);
    let tags = summary.bytes_transferred - 300_000;
    assert!(tags < 1000, "read {} bytes beyond the missing 300000", tags);
}

/// Packs hold files with the same bytes (a tile that is also the whole image, blank tiles):
/// downloaded at once, each has its own partial file.
#[tokio::test]
async fn files_with_the_same_bytes_are_pulled_side_by_side() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let same = bytes(300_000, 9);
    let names: Vec<String> = (0..12).map(|i| format!("tiles/{i}/default.jpg")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &same[..])).collect();
    make_bag(from.path(), &files);
    let summary = pull_folder(from.path(), to.path()).await.unwrap();
    assert!(summary.complete, "{summary:?}");
    assert_eq!(summary.downloaded, names.len());
    for name in &names {
        assert_eq!(
            std::fs::read(to.path().join("data").join(name)).unwrap(),
            same
        );
    }
}

#[tokio::test]
async fn a_file_that_does_not_match_is_kept_aside_and_the_bag_left_incomplete() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    make_bag(
        from.path(),
        &[("a.bin", &bytes(10_000, 3)), ("b.bin", &bytes(10, 4))],
    );
    let mut tampered = std::fs::read(from.path().join("data/a.bin")).unwrap();
    tampered[5000] ^= 1;
    std::fs::write(from.path().join("data/a.bin"), &tampered).unwrap();
    let summary = pull_folder(from.path(), to.path()).await.unwrap();
    assert!(!summary.complete);
    assert_eq!(summary.rejected.len(), 1);
    let rejected = &summary.rejected[0];
    assert_eq!(rejected.path, "data/a.bin");
    assert_eq!(
        rejected.actual_sha256,
        hex::encode(Sha256::digest(&tampered))
    );
    assert_eq!(std::fs::read(&rejected.kept_at).unwrap(), tampered);
    assert!(
        !to.path().join("data/a.bin").exists(),
        "never left in place"
    );
    assert!(to.path().join("data/b.bin").exists());
    assert!(
        !to.path().join("bagit.txt").exists(),
        "an incomplete bag has no bagit.txt"
    );
}

#[tokio::test]
async fn hostile_manifests_and_changed_tag_files_stop_the_pull_before_any_payload() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    make_bag(from.path(), &[("a.bin", b"x")]);
    std::fs::write(from.path().join("bag-info.txt"), "Payload-Oxum: 2.1\n").unwrap();
    let err = pull_folder(from.path(), to.path()).await.unwrap_err();
    assert!(
        matches!(err, PullError::TagMismatch { ref file } if file == "bag-info.txt"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 3);

    let hostile = tempfile::tempdir().unwrap();
    make_bag(hostile.path(), &[("a.bin", b"x")]);
    let manifest = std::fs::read_to_string(hostile.path().join("manifest-sha256.txt")).unwrap();
    let escaping = manifest.replace("data/a.bin", "data/../../escaped.bin");
    std::fs::write(hostile.path().join("manifest-sha256.txt"), &escaping).unwrap();
    std::fs::write(hostile.path().join("../escaped.bin"), b"x").ok();
    let tags = std::fs::read_to_string(hostile.path().join("tagmanifest-sha256.txt")).unwrap();
    let old = hex::encode(Sha256::digest(manifest.as_bytes()));
    let new = hex::encode(Sha256::digest(escaping.as_bytes()));
    std::fs::write(
        hostile.path().join("tagmanifest-sha256.txt"),
        tags.replace(&old, &new),
    )
    .unwrap();
    let inner = to.path().join("kiosk");
    let err = pull_folder(hostile.path(), &inner).await.unwrap_err();
    assert!(matches!(err, PullError::NotABag(_)), "{err}");
    assert!(!to.path().join("escaped.bin").exists());
    assert!(!inner.join("data").exists());
}

#[tokio::test]
async fn files_an_updated_pack_no_longer_lists_are_removed() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    make_bag(from.path(), &[("old.bin", b"old"), ("kept.bin", b"kept")]);
    pull_folder(from.path(), to.path()).await.unwrap();
    let newer = tempfile::tempdir().unwrap();
    make_bag(newer.path(), &[("kept.bin", b"kept"), ("new.bin", b"new")]);
    let summary = pull_folder(newer.path(), to.path()).await.unwrap();
    assert!(summary.complete);
    assert_eq!(
        (summary.downloaded, summary.already_there, summary.removed),
        (1, 1, 1)
    );
    assert!(!to.path().join("data/old.bin").exists());
}

#[test]
fn sources_are_folders_or_http_addresses() {
    let timeout = Duration::from_secs(1);
    assert!(matches!(
        Source::parse("ftp://example.org/pack", timeout),
        Err(PullError::BadSource { .. })
    ));
    assert!(matches!(
        Source::parse("/no/such/folder/here", timeout),
        Err(PullError::BadSource { .. })
    ));
    let http = Source::parse(
        "https://kiosk.local/bangkok?X-Amz-Signature=secret",
        timeout,
    )
    .unwrap();
    assert_eq!(http.describe(), "https://kiosk.local/bangkok/");
}

use super::{write, BagInfo};

#[test]
fn a_bag_lists_every_payload_file_and_every_tag_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("data/a b")).unwrap();
    std::fs::write(root.join("data/a b/one.txt"), b"abc").unwrap();
    std::fs::write(root.join("data/100%.txt"), b"").unwrap();
    let info = BagInfo {
        source_organization: "Museum\nof Things".into(),
        external_identifier: "silk/bangkok".into(),
        bagging_date: "2026-12-02".into(),
        software_agent: "caravan test".into(),
    };
    assert_eq!(write(root, &info).unwrap(), (2, 3));
    let manifest = std::fs::read_to_string(root.join("manifest-sha256.txt")).unwrap();
    // SHA-256 of "abc" and of nothing (FIPS 180-2 test vectors).
    assert_eq!(
        manifest,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  data/100%25.txt\n\
         ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  data/a b/one.txt\n"
    );
    let info = std::fs::read_to_string(root.join("bag-info.txt")).unwrap();
    assert!(
        info.contains("Source-Organization: Museum of Things\n"),
        "{info}"
    );
    assert!(info.contains("Payload-Oxum: 3.2\n"), "{info}");
    assert_eq!(
        std::fs::read_to_string(root.join("bagit.txt")).unwrap(),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    );
    let tags = std::fs::read_to_string(root.join("tagmanifest-sha256.txt")).unwrap();
    let named: Vec<&str> = tags
        .lines()
        .map(|l| l.split_once("  ").unwrap().1)
        .collect();
    assert_eq!(named, ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"]);
}

use super::*;
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn local_store_round_trips_files_and_reports_their_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let src = dir.path().join("src.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &data).unwrap();

    let put = store
        .put_file(
            "a/b/c.bin",
            &src,
            "application/octet-stream",
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        put,
        ObjectSummary {
            size: data.len() as u64,
            sha256: sha(&data)
        }
    );
    assert_eq!(
        store.size_of("a/b/c.bin").await.unwrap(),
        Some(data.len() as u64)
    );

    let back = dir.path().join("back.bin");
    let got = store.get_to_file("a/b/c.bin", &back).await.unwrap();
    assert_eq!(got, put);
    assert_eq!(std::fs::read(&back).unwrap(), data);

    // No temporary files are left beside the object.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("store/a/b"))
        .unwrap()
        .collect();
    assert_eq!(names.len(), 1);
}

#[tokio::test]
async fn local_store_reports_missing_objects() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Local(LocalStore::new(dir.path()));
    assert_eq!(store.get_bytes("receipts/x.json").await.unwrap(), None);
    assert_eq!(store.size_of("receipts/x.json").await.unwrap(), None);
    let err = store
        .get_to_file("nope", &dir.path().join("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    assert!(!err.is_retryable());
    store.delete("nope").await.unwrap();
}

#[tokio::test]
async fn keys_that_could_escape_the_store_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Local(LocalStore::new(dir.path()));
    for key in [
        "",
        "../x",
        "a/../../x",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "a\\..\\b",
    ] {
        let err = store
            .put_bytes(key, b"x".to_vec(), "text/plain")
            .await
            .unwrap_err();
        assert_eq!(err.code().as_str(), "store_invalid_key", "{key:?}");
    }
}

#[test]
fn s3_config_reads_secrets_from_files_and_never_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "s3cr3t-value\n").unwrap();
    let path = secret_file.to_string_lossy().into_owned();
    let config = S3Config::from_env(|name| match name {
        "CARAVAN_S3_BUCKET" => Some("masters".into()),
        "CARAVAN_S3_ACCESS_KEY_ID" => Some("GKexample".into()),
        "CARAVAN_S3_SECRET_ACCESS_KEY_FILE" => Some(path.clone()),
        "CARAVAN_S3_ENDPOINT" => Some("http://127.0.0.1:3900".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.secret_access_key.expose(), "s3cr3t-value");
    assert!(config.path_style);
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(!shown.contains("GKexample"), "{shown}");

    let missing = S3Config::from_env(|name| (name == "CARAVAN_S3_BUCKET").then(|| "b".into()));
    assert!(
        matches!(missing, Err(StoreError::Config(m)) if m.contains("CARAVAN_S3_ACCESS_KEY_ID"))
    );
}

#[tokio::test]
async fn conditional_writes_keep_the_first_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Local(LocalStore::new(dir.path()));
    assert!(store
        .put_bytes_if_absent("r/x.json", b"first".to_vec(), "application/json")
        .await
        .unwrap());
    assert!(!store
        .put_bytes_if_absent("r/x.json", b"second".to_vec(), "application/json")
        .await
        .unwrap());
    assert_eq!(
        store.get_bytes("r/x.json").await.unwrap().unwrap(),
        b"first"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("r")).unwrap().count(),
        1,
        "no temporary files left"
    );
}

#[tokio::test]
async fn listing_a_prefix_returns_exactly_the_keys_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    for key in [
        "incoming/a.tif",
        "incoming/2026/b.tif",
        "incoming-old/c.tif",
        "derivatives/x/access.jpg",
    ] {
        store
            .put_bytes(key, b"x".to_vec(), "application/octet-stream")
            .await
            .unwrap();
    }
    let keys = |listed: Vec<(String, u64)>| listed.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list("incoming/").await.unwrap()),
        ["incoming/2026/b.tif", "incoming/a.tif"]
    );
    assert_eq!(
        keys(store.list("incoming").await.unwrap()),
        [
            "incoming-old/c.tif",
            "incoming/2026/b.tif",
            "incoming/a.tif"
        ]
    );
    assert_eq!(
        keys(store.list("incoming/2026/b").await.unwrap()),
        ["incoming/2026/b.tif"]
    );
    assert!(store.list("nothing/").await.unwrap().is_empty());
    assert!(store.list("../").await.unwrap().is_empty());
}

#[tokio::test]
async fn local_store_stat_gives_size_and_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Local(LocalStore::new(dir.path()));
    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    store
        .put_bytes("receipts/a.json", b"{}".to_vec(), "application/json")
        .await
        .unwrap();
    let (size, modified) = store.stat("receipts/a.json").await.unwrap().unwrap();
    assert_eq!(size, 2);
    assert!(modified >= before && modified <= std::time::SystemTime::now());
    assert_eq!(store.stat("receipts/b.json").await.unwrap(), None);
}

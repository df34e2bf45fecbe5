//! The S3 store against a real S3 server (Garage): what the job layer's commit point relies on.

use caravan_store::{S3Config, S3Store, Store};

use crate::common::{garage_env, unique};

async fn fresh_bucket() -> S3Store {
    let mut envs = garage_env().clone();
    envs.retain(|(k, _)| k != "CARAVAN_S3_BUCKET");
    envs.push(("CARAVAN_S3_BUCKET".into(), unique("store")));
    let setting = |k: &str| envs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let s3 = S3Store::new(&S3Config::from_env(setting).unwrap());
    s3.ensure_bucket().await.unwrap();
    s3
}

/// The receipt is written only if absent: the first write wins, a later one (a duplicate
/// delivery committing second) is told so and changes nothing. Where the server honours
/// `If-None-Match: *` that holds even when two writes race; where it does not (the store finds
/// out by a probe), the store looks before it writes and the lease covers the race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_conditional_writes_keep_the_first_object() {
    let s3 = fresh_bucket().await;
    let honoured = s3.honours_conditional_writes().await.unwrap();
    let store = Store::S3(s3);
    let key = "receipts/x/default.json";
    assert!(store
        .put_bytes_if_absent(key, b"first".to_vec(), "application/json")
        .await
        .unwrap());
    assert!(!store
        .put_bytes_if_absent(key, b"second".to_vec(), "application/json")
        .await
        .unwrap());
    assert_eq!(store.get_bytes(key).await.unwrap().unwrap(), b"first");

    if !honoured {
        eprintln!("this S3 server ignores If-None-Match: racing writes are left to the lease");
        return;
    }
    for round in 0..5 {
        let key = format!("receipts/race-{round}/default.json");
        let (a, b) = tokio::join!(
            store.put_bytes_if_absent(&key, b"a".to_vec(), "application/json"),
            store.put_bytes_if_absent(&key, b"b".to_vec(), "application/json"),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            a != b,
            "round {round}: exactly one write must win ({a}, {b})"
        );
        let kept = store.get_bytes(&key).await.unwrap().unwrap();
        assert_eq!(kept, if a { b"a" } else { b"b" }, "round {round}");
    }
}

/// A server-side copy: a master uploaded under a station's own name (Thai, spaces, `+`: the
/// copy source is URL-encoded) becomes `masters/<sha256>` with the same bytes and the media
/// type Caravan recognised, not the one it was uploaded with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_copies_an_object_on_the_server() {
    let store = Store::S3(fresh_bucket().await);
    let from = "incoming/ฟิล์ม 7/reel+1.png";
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    store
        .put_bytes(from, bytes.clone(), "application/octet-stream")
        .await
        .unwrap();
    let to = "masters/copied";
    store
        .copy(from, to, bytes.len() as u64, "image/png")
        .await
        .unwrap();
    assert_eq!(store.get_bytes(to).await.unwrap().unwrap(), bytes);
    assert_eq!(
        store.get_bytes(from).await.unwrap().unwrap(),
        bytes,
        "the source stays"
    );
    let Store::S3(s3) = &store else {
        unreachable!()
    };
    let link = s3
        .presigned_get(to, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let head = std::process::Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", &link])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).to_lowercase();
    assert!(head.contains("content-type: image/png"), "{head}");
}

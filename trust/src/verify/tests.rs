//! `verify` on a store built by hand: a receipt written as one was before signing existed
//! (unsigned), then the same receipt signed and logged; and what a changed output or a missing
//! signature does. The full tamper matrix, on real pipeline outputs, is `tests/e2e/trust.rs`.

use std::sync::Arc;

use caravan_proto::{keys, LogRequest};
use caravan_store::{LocalStore, Store};
use serde_json::json;

use super::{verify, Options, Scope, Status};
use crate::keys::{generate, public_key_from_pem, SigningKeys};
use crate::log::LogWriter;
use crate::sha256_hex;

const ASSET: &str = "00f4c875f58a39ca4aecde274f32cb45fb3fb22685225e24b207be214248dadd";

/// A receipt as the worker wrote them before this crate existed: no `signed_by`, no content
/// hash.
fn old_receipt(output: &[u8]) -> serde_json::Value {
    json!({
        "v": 1,
        "asset_id": ASSET,
        "kind": "image",
        "master_size": 657947,
        "master_media_type": "image/png",
        "profile": "default",
        "outputs": [{
            "name": "thumb.jpg",
            "key": format!("derivatives/{ASSET}/default/thumb.jpg"),
            "size": output.len(),
            "sha256": sha256_hex(output),
            "media_type": "image/jpeg",
            "width": 256,
            "height": 171
        }],
        "parameters": { "name": "default" },
        "tools": { "caravan": "0.1.0" },
        "job_id": "6a2f41a3-c96d-4fa1-9fa3-d6a3ee3a7e3b",
        "worker": "host:1",
        "started_at": "2026-11-30T10:00:00Z",
        "finished_at": "2026-11-30T10:00:01Z"
    })
}

async fn put(store: &Store, key: &str, bytes: Vec<u8>) {
    store
        .put_bytes(key, bytes, "application/octet-stream")
        .await
        .unwrap();
}

fn statuses(report: &super::Report) -> Vec<(String, Status)> {
    report
        .lines
        .iter()
        .map(|l| (l.object.clone(), l.status))
        .collect()
}

#[tokio::test]
async fn an_old_unsigned_receipt_is_reported_unsigned_and_a_signed_logged_one_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let receipt_key = format!("receipts/{ASSET}/default.json");
    let output_key = format!("derivatives/{ASSET}/default/thumb.jpg");
    let output = b"not really a jpeg, but hashed like one".to_vec();
    put(&store, &output_key, output.clone()).await;
    let old = serde_json::to_vec_pretty(&old_receipt(&output)).unwrap();
    put(&store, &receipt_key, old).await;

    let report = verify(&store, &Scope::All, "store", &Options::default()).await;
    assert_eq!(
        statuses(&report),
        vec![
            (receipt_key.clone(), Status::Unsigned),
            (output_key.clone(), Status::Ok)
        ],
        "{report:#?}"
    );
    assert!(report.passed(false));
    assert!(!report.passed(true), "--require-signed fails it");

    // Signed and logged, as a worker with a key does it.
    generate(&dir.path().join("keys")).unwrap();
    let keys = Arc::new(SigningKeys::load_dir(&dir.path().join("keys")).unwrap());
    let mut receipt = old_receipt(&output);
    receipt["signed_by"] = json!({ "key_id": keys.key_id(), "algorithm": "ed25519" });
    let body = serde_json::to_vec_pretty(&receipt).unwrap();
    let signature = keys.sign(&body).to_vec();
    put(&store, &receipt_key, body.clone()).await;
    put(&store, &format!("{receipt_key}.sig"), signature.clone()).await;
    put(
        &store,
        &keys::public_key(keys.key_id()),
        keys.public_pem().as_bytes().to_vec(),
    )
    .await;
    let mut log = LogWriter::open(store.clone(), keys.clone()).await.unwrap();
    log.append(&LogRequest {
        v: 1,
        receipt_key: receipt_key.clone(),
        receipt_sha256: sha256_hex(&body),
        signature_sha256: sha256_hex(&signature),
    })
    .await
    .unwrap();

    // Logged but no tree head yet: not verifiable yet, and said so.
    let report = verify(&store, &Scope::All, "store", &Options::default()).await;
    assert!(!report.passed(false));
    let receipt_line = report
        .lines
        .iter()
        .find(|l| l.object == receipt_key)
        .unwrap();
    assert!(
        receipt_line.problems[0].contains("not in the transparency log yet"),
        "{receipt_line:?}"
    );

    log.publish().await.unwrap().unwrap();
    let with_key = Options {
        key: Some(public_key_from_pem(keys.public_pem()).unwrap()),
        ..Default::default()
    };
    for options in [Options::default(), with_key.clone()] {
        let report = verify(&store, &Scope::All, "store", &options).await;
        assert!(report.passed(true), "{report:#?}");
        assert_eq!(report.summary.failed, 0);
        assert!(report
            .lines
            .iter()
            .any(|l| l.object == output_key && l.status == Status::Ok));
    }
    // One object alone: the derivative, with its receipt.
    let report = verify(&store, &Scope::Object(output_key.clone()), "one", &with_key).await;
    assert!(report.passed(true), "{report:#?}");
    assert_eq!(report.summary.objects, 2);

    // Another key than the archive's: every signature fails, naming the key.
    let other_dir = dir.path().join("other");
    generate(&other_dir).unwrap();
    let other = SigningKeys::load_dir(&other_dir).unwrap();
    let wrong = Options {
        key: Some(public_key_from_pem(other.public_pem()).unwrap()),
        ..Default::default()
    };
    let report = verify(&store, &Scope::All, "store", &wrong).await;
    assert!(!report.passed(false));
    let line = report
        .lines
        .iter()
        .find(|l| l.object == receipt_key)
        .unwrap();
    assert!(
        line.problems[0].contains("not by the key given"),
        "{line:?}"
    );

    // The output changed: its line fails, and says what to do.
    put(&store, &output_key, b"something else".to_vec()).await;
    let report = verify(&store, &Scope::All, "store", &with_key).await;
    let line = report
        .lines
        .iter()
        .find(|l| l.object == output_key)
        .unwrap();
    assert_eq!(line.status, Status::Failed);
    assert!(line.problems[0].contains("fetch it again"), "{line:?}");
}

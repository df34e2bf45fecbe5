use std::sync::Arc;

use caravan_proto::{keys, ConsistencyProof, InclusionProof, LogRequest, TreeHead};
use caravan_store::{LocalStore, Store};

use super::merkle::{verify_consistency, verify_inclusion};
use super::{entry_digest, parse_entry_key, Appended, LogWriter};
use crate::keys::{generate, public_key_from_pem, verify, SigningKeys};

fn request(n: u8) -> LogRequest {
    LogRequest {
        v: 1,
        receipt_key: format!("receipts/{n:064x}/default.json"),
        receipt_sha256: format!("{:064x}", u32::from(n) * 3),
        signature_sha256: format!("{:064x}", u32::from(n) * 7),
    }
}

async fn json<T: serde::de::DeserializeOwned>(store: &Store, key: &str) -> T {
    serde_json::from_slice(&store.get_bytes(key).await.unwrap().unwrap()).unwrap()
}

fn setup() -> (tempfile::TempDir, Store, Arc<SigningKeys>) {
    let dir = tempfile::tempdir().unwrap();
    generate(&dir.path().join("keys")).unwrap();
    let keys = Arc::new(SigningKeys::load_dir(&dir.path().join("keys")).unwrap());
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    (dir, store, keys)
}

#[tokio::test]
async fn appends_once_publishes_signed_heads_with_inclusion_and_consistency_proofs() {
    let (_dir, store, keys) = setup();
    let public = public_key_from_pem(keys.public_pem()).unwrap();
    let mut log = LogWriter::open(store.clone(), keys.clone()).await.unwrap();
    assert!(log.is_empty());
    for n in 0..3 {
        assert_eq!(
            log.append(&request(n)).await.unwrap(),
            Appended::New(u64::from(n))
        );
    }
    // A redelivered request leaves one entry.
    assert_eq!(log.append(&request(1)).await.unwrap(), Appended::Duplicate);
    let first = log.publish().await.unwrap().unwrap();
    assert_eq!(first.size, 3);
    assert!(
        log.publish().await.unwrap().is_none(),
        "nothing new, no new head"
    );

    // The head is signed over its exact bytes.
    let body = store.get_bytes(&keys::tree_head(3)).await.unwrap().unwrap();
    let signature = store
        .get_bytes(&keys::tree_head_signature(3))
        .await
        .unwrap()
        .unwrap();
    assert!(verify(&public, &body, &signature));
    let stored: TreeHead = serde_json::from_slice(&body).unwrap();
    assert_eq!(stored, first);

    // Each receipt's proof places its entry under that head.
    for n in 0..3u8 {
        let r = request(n);
        let proof: InclusionProof = json(
            &store,
            &keys::inclusion_proof_of_receipt(&r.receipt_key).unwrap(),
        )
        .await;
        assert_eq!((proof.index, proof.tree_size), (u64::from(n), 3));
        let digest = entry_digest(&r.receipt_key, &r.receipt_sha256, &r.signature_sha256);
        assert!(verify_inclusion(
            &first.root_hash,
            3,
            &digest,
            proof.index,
            &proof.audit_path
        ));
        let other = entry_digest(&r.receipt_key, &r.receipt_sha256, &"f".repeat(64));
        assert!(!verify_inclusion(
            &first.root_hash,
            3,
            &other,
            proof.index,
            &proof.audit_path
        ));
    }

    // A sequencer that restarts carries on from the store, and the next head extends the first.
    drop(log);
    let mut log = LogWriter::open(store.clone(), keys.clone()).await.unwrap();
    assert_eq!((log.len(), log.unpublished()), (3, 0));
    assert_eq!(log.append(&request(2)).await.unwrap(), Appended::Duplicate);
    assert_eq!(log.append(&request(3)).await.unwrap(), Appended::New(3));
    assert_eq!(log.append(&request(4)).await.unwrap(), Appended::New(4));
    // It dies before publishing; the next one publishes what it appended.
    drop(log);
    let mut log = LogWriter::open(store.clone(), keys.clone()).await.unwrap();
    assert_eq!(log.unpublished(), 2);
    let second = log.publish().await.unwrap().unwrap();
    assert_eq!(second.size, 5);
    let consistency: ConsistencyProof = json(&store, &keys::consistency_proof(3, 5)).await;
    assert!(verify_consistency(
        (&first.root_hash, 3),
        (&second.root_hash, 5),
        &consistency.path
    ));
    let proof: InclusionProof = json(
        &store,
        &keys::inclusion_proof_of_receipt(&request(4).receipt_key).unwrap(),
    )
    .await;
    assert_eq!((proof.index, proof.tree_size), (4, 5));
}

#[tokio::test]
async fn a_sequencer_loaded_before_another_appended_refuses_instead_of_forking() {
    let (_dir, store, keys) = setup();
    // Loaded while waiting its turn; then the active sequencer appends two entries.
    let mut stale = LogWriter::open(store.clone(), keys.clone()).await.unwrap();
    let mut active = LogWriter::open(store.clone(), keys.clone()).await.unwrap();
    active.append(&request(0)).await.unwrap();
    active.append(&request(1)).await.unwrap();
    drop(active);
    let refused = stale.append(&request(2)).await.unwrap_err().to_string();
    assert!(refused.contains("another sequencer"), "{refused}");
    let entries = store.list(keys::LOG_ENTRIES).await.unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    // Reloaded, it carries on after them and publishes a head over all three.
    let mut reloaded = LogWriter::open(store.clone(), keys).await.unwrap();
    assert_eq!(reloaded.unpublished(), 2);
    assert_eq!(
        reloaded.append(&request(2)).await.unwrap(),
        Appended::New(2)
    );
    assert_eq!(reloaded.publish().await.unwrap().unwrap().size, 3);
}

#[tokio::test]
async fn an_entry_appended_behind_the_sequencers_back_stops_it_publishing() {
    let (_dir, store, keys) = setup();
    let mut log = LogWriter::open(store.clone(), keys.clone()).await.unwrap();
    log.append(&request(0)).await.unwrap();
    // Another process writes a second entry at index 0: a fork.
    let r = request(9);
    let digest = hex::encode(entry_digest(
        &r.receipt_key,
        &r.receipt_sha256,
        &r.signature_sha256,
    ));
    store
        .put_bytes(
            &keys::log_entry(0, &digest),
            b"{}".to_vec(),
            "application/json",
        )
        .await
        .unwrap();
    let refused = log.publish().await.unwrap_err().to_string();
    assert!(refused.contains("forked"), "{refused}");
    assert_eq!(store.list(keys::LOG_TREE_HEADS).await.unwrap().len(), 0);
    let reopened = LogWriter::open(store.clone(), keys)
        .await
        .unwrap_err()
        .to_string();
    assert!(reopened.contains("forked"), "{reopened}");
}

#[test]
fn entry_names_parse_back_and_nothing_else_does() {
    let digest = "ab".repeat(32);
    assert_eq!(
        parse_entry_key(&keys::log_entry(42, &digest)),
        Some((42, digest.clone()))
    );
    assert_eq!(parse_entry_key("log/entries/42-ab.json"), None);
    assert_eq!(
        parse_entry_key(&keys::log_entry(1, &"AB".repeat(32))),
        None,
        "digests are lowercase"
    );
    assert_eq!(super::parse_tree_head_key(&keys::tree_head(7)), Some(7));
    assert_eq!(
        super::parse_tree_head_key(&keys::tree_head_signature(7)),
        None
    );
}

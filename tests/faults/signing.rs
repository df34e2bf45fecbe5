//! Signing workers killed mid-batch: the transparency log must still hold exactly one entry
//! per receipt (one sequencer appends at a time; a request redelivered after a kill is found in
//! the log, not appended again), its tree heads must be consistent, every receipt signed, and
//! `caravan verify` must pass on the bucket.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use caravan_proto::{keys, LogEntry};

use crate::common::trust::generate_keys;
use crate::common::*;
use crate::{fault_cluster, image_batch, tally, ONE_AT_A_TIME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row9_signing_workers_killed_mid_batch() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let key_dir = generate_keys(dir.path());
    let mut cluster = fault_cluster(
        "9-signing-kill-9",
        &[
            ("CARAVAN_DELIVERY_LIMIT", "100"),
            ("CARAVAN_SIGNING_DIR", key_dir.to_str().unwrap()),
        ],
    )
    .await;
    let batch = image_batch(60, (640, 480));
    // First a worker that dies right after committing a receipt, before signing it: the next
    // delivery of that job must restore the signature and log the receipt.
    let doomed = cluster.start_worker(&[("CARAVAN_FAILPOINT", "after_receipt")]);
    cluster.start_worker(&[]);
    let envs = cluster.envs.clone();
    let path = batch.path().to_owned();
    let submit =
        std::thread::spawn(move || run_json(&["submit", path.to_str().unwrap(), "--json"], &envs));
    let deadline = Instant::now() + Duration::from_secs(60);
    while cluster.workers[doomed]
        .as_mut()
        .unwrap()
        .try_wait()
        .unwrap()
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the after_receipt failpoint did not fire"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.workers[doomed] = None;
    cluster.start_worker(&[]);
    let mut kills = 0;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    while kills < 8 && !submit.is_finished() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(800 + rng % 1200));
        if submit.is_finished() {
            break;
        }
        let alive: Vec<usize> = (0..cluster.workers.len())
            .filter(|&i| cluster.workers[i].is_some())
            .collect();
        cluster.kill9(alive[(rng % 2) as usize % alive.len()]);
        kills += 1;
        cluster.start_worker(&[]);
    }
    let summary = submit.join().unwrap();
    let batch_id = summary["batch_id"].as_str().unwrap().to_owned();
    let receipts = json_keys(&cluster, keys::RECEIPTS).await;
    assert_eq!(receipts.len(), 60);

    // The sequencer publishes once requests stop for a moment: wait for a head covering all.
    let deadline = Instant::now() + Duration::from_secs(120);
    let heads = loop {
        let heads = json_keys(&cluster, keys::LOG_TREE_HEADS).await;
        if heads.iter().any(|k| k == &keys::tree_head(60)) {
            break heads;
        }
        if Instant::now() >= deadline {
            let entries = cluster.store.list(keys::LOG_ENTRIES).await.unwrap();
            panic!(
                "no tree head covers the 60 receipts: heads {heads:?}, {} entries; workers' warnings: {:#?}",
                entries.len(),
                warnings(&cluster)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };

    // Exactly one entry per receipt, indexes 0…59.
    let mut logged: BTreeMap<String, usize> = BTreeMap::new();
    let entries = cluster.store.list(keys::LOG_ENTRIES).await.unwrap();
    for (i, (key, _)) in entries.iter().enumerate() {
        assert!(
            key.starts_with(&format!("{}{i:020}-", keys::LOG_ENTRIES)),
            "{key}"
        );
        let entry: LogEntry =
            serde_json::from_slice(&cluster.store.get_bytes(key).await.unwrap().unwrap()).unwrap();
        *logged.entry(entry.receipt_key).or_default() += 1;
    }
    let twice: Vec<_> = logged.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "receipts logged twice: {twice:?}");
    assert_eq!(logged.keys().cloned().collect::<Vec<_>>(), receipts);
    let restored = cluster.log_lines("Restoring the receipt's signature");
    assert!(
        restored >= 1,
        "the receipt committed before the failpoint was not completed"
    );

    // Third-party checkable from the bucket alone, with the archive's public key.
    let mut verify = caravan();
    verify
        .args([
            "verify",
            &format!("s3://{}", cluster.prefix),
            "--json",
            "--key",
        ])
        .arg(key_dir.join("signing.pem"))
        .envs(cluster.envs.iter().map(|(k, v)| (k, v)));
    let out = output_within(verify, Duration::from_secs(300));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        out.status.success(),
        "verify failed on the bucket: {report:#}"
    );
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["unsigned"], 0);

    let t = tally(
        &cluster,
        &batch_id,
        &format!(
            "{kills} kill -9; log: {} entries for {} receipts, {} tree heads, {restored} signatures restored; verify ok",
            entries.len(),
            receipts.len(),
            heads.len()
        ),
    )
    .await;
    assert_eq!(t.receipts, 60, "{t:?}");
    t.assert_clean();
}

/// The workers' warnings and errors, each message with how often it was logged.
fn warnings(cluster: &Cluster) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for record in cluster.log_records() {
        if matches!(record["level"].as_str(), Some("WARN" | "ERROR")) {
            let message = format!(
                "{}: {}",
                record["fields"]["message"].as_str().unwrap_or_default(),
                record["fields"]["error"].as_str().unwrap_or_default()
            );
            *seen.entry(message).or_default() += 1;
        }
    }
    seen
}

/// The JSON objects below `prefix` (receipts, tree heads; not their signatures).
async fn json_keys(cluster: &Cluster, prefix: &str) -> Vec<String> {
    (cluster.store.list(prefix).await.unwrap().into_iter())
        .map(|(k, _)| k)
        .filter(|k| k.ends_with(".json"))
        .collect()
}

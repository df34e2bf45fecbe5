//! Bad inputs: a decode that hangs is killed at the timeout; the hostile corpus is refused
//! file by file while the worker stays up and small.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use caravan_proto::{keys, AssetId, ProfileName};

use crate::common::*;
use crate::{
    fault_cluster, image_batch, long_video, pgrep_exec_jobs, profiles_file, tally, ONE_AT_A_TIME,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row7_hung_decode_is_killed_at_the_timeout() {
    let _one = ONE_AT_A_TIME.lock().await;
    let profiles = profiles_file("[profiles.default]\nlimits = { timeout_seconds = 3 }\n");
    let profiles_path = profiles.path().display().to_string();
    let mut cluster = fault_cluster("7-timeout", &[("CARAVAN_PROFILES", &profiles_path)]).await;
    let batch = image_batch(3, (320, 240));
    long_video(batch.path(), 40);
    cluster.start_worker(&[]);
    let summary = cluster.submit(batch.path(), &[]);
    let failed = summary["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{summary:#}");
    assert_eq!(failed[0]["code"], "pipeline_timeout");
    std::thread::sleep(Duration::from_millis(500));
    let left = pgrep_exec_jobs();
    let t = tally(
        &cluster,
        summary["batch_id"].as_str().unwrap(),
        &format!("pipeline_timeout after 3 s, {left} pipeline processes left"),
    )
    .await;
    assert_eq!(left, 0);
    assert_eq!(t.receipts, 3);
    assert_eq!(t.failed, 1);
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row8_hostile_corpus() {
    let _one = ONE_AT_A_TIME.lock().await;
    let profiles =
        profiles_file("[profiles.default]\nlimits = { memory_mib = 1024, timeout_seconds = 60 }\n");
    let profiles_path = profiles.path().display().to_string();
    let mut cluster = fault_cluster("8-hostile", &[("CARAVAN_PROFILES", &profiles_path)]).await;
    let dir = tempfile::tempdir().unwrap();
    let canary_dir = tempfile::tempdir().unwrap();
    let canary = canary_dir.path().join("canary.txt");
    let secret = "CANARY-7f3a9c-MUST-NOT-LEAK";
    std::fs::write(&canary, secret).unwrap();
    let files = hostile::write_batch(dir.path(), &canary);
    let w = cluster.start_worker(&[]);
    let summary = cluster.submit(dir.path(), &[]);

    let done: BTreeSet<String> = names(&summary, "done").into_iter().collect();
    let mut refused = BTreeMap::new();
    for list in ["failed", "rejected"] {
        for p in summary[list].as_array().unwrap() {
            refused.insert(
                p["source_name"].as_str().unwrap().to_owned(),
                (
                    p["code"].as_str().unwrap().to_owned(),
                    p["message"].as_str().unwrap().to_owned(),
                ),
            );
        }
    }
    for (name, expect) in &files {
        match expect {
            hostile::Expect::Done => {
                assert!(done.contains(name), "{name:?} should be done: {summary:#}")
            }
            hostile::Expect::Refused(expected) => {
                let (code, message) = refused
                    .get(name)
                    .unwrap_or_else(|| panic!("{name:?} should be refused: {summary:#}"));
                assert_eq!(code, expected, "{name:?}: {message}");
                assert!(
                    caravan_proto::FailureCode::parse(code).is_some() && message.len() > 20,
                    "{name:?}: {code}: {message}"
                );
            }
        }
    }
    // No object key carries a user file name, and the canary reached no output.
    let profile = ProfileName::default_profile();
    for item in summary["done"].as_array().unwrap() {
        let asset = AssetId::parse(item["asset_id"].as_str().unwrap()).unwrap();
        let receipt: caravan_proto::Receipt = serde_json::from_slice(
            &cluster
                .store
                .get_bytes(&keys::receipt(&asset, &profile))
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        for output in receipt.outputs {
            assert!(
                output.key.starts_with(&format!("derivatives/{asset}/")),
                "{}",
                output.key
            );
            let bytes = cluster.store.get_bytes(&output.key).await.unwrap().unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "canary leaked into {}",
                output.key
            );
        }
    }
    // The worker is alive, and stayed small: decoding happened in capped child processes.
    let pid = cluster.pid(w);
    assert!(
        cluster.workers[w]
            .as_mut()
            .unwrap()
            .try_wait()
            .unwrap()
            .is_none(),
        "worker died"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .unwrap();
    let hostile_count = files
        .iter()
        .filter(|(_, e)| matches!(e, hostile::Expect::Refused(_)))
        .count();
    let t = tally(
        &cluster,
        summary["batch_id"].as_str().unwrap(),
        &format!(
            "{hostile_count} hostile refused, worker peak RSS {} MiB (cap 1024 MiB)",
            hwm_kib / 1024
        ),
    )
    .await;
    assert!(hwm_kib < 1024 * 1024, "worker peak RSS {hwm_kib} KiB");
    t.assert_clean();
}

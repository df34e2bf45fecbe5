//! Bulk submissions: a `caravan submit` stopped half-way (Ctrl-C), submitted again (stopped once
//! more) and resumed publishes every asset exactly once and uploads nothing twice, through
//! RabbitMQ and Garage.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use caravan_proto::{BatchId, Disposition, JobKind, SubmissionState, Topology};

use crate::common::{caravan, garage_env, output_within, Cluster};

const MASTERS: usize = 2000;

/// `n` distinct small PNG masters in `dir`.
fn write_masters(dir: &Path, n: usize) {
    for i in 0..n {
        let img = image::RgbImage::from_fn(8, 8, |x, y| {
            image::Rgb([(i % 251) as u8, (i / 251) as u8, (x * 8 + y) as u8])
        });
        img.save(dir.join(format!("page-{i:05}.png"))).unwrap();
    }
}

/// Every stored master's key and last-modified time.
async fn masters(cluster: &Cluster) -> BTreeMap<String, std::time::SystemTime> {
    (cluster.store.list_with_times("masters/").await.unwrap())
        .into_iter()
        .map(|(key, _, modified)| (key, modified))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_submission_resumes_publishing_each_asset_once() {
    // No workers: every published job stays in the queue to be counted.
    let cluster = Cluster::new("bulk-resume", garage_env().clone(), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    write_masters(dir.path(), MASTERS);

    // Ctrl-C once a few hundred masters are up.
    submit_until(&cluster, dir.path(), 300).await;

    let batches = cluster.store.list("batches/").await.unwrap();
    let header_key = (batches.iter())
        .find(|(k, _)| k.ends_with("/index.json"))
        .map(|(k, _)| k.clone())
        .expect("the batch's header is stored");
    let batch = BatchId::parse(header_key.split('/').nth(1).unwrap()).unwrap();
    let header = caravan_scheduler::index::header(&cluster.store, &batch)
        .await
        .unwrap();
    assert_eq!(header.state, SubmissionState::Interrupted);
    let interrupted = caravan_scheduler::index::load(&cluster.store, &batch)
        .await
        .unwrap();
    let recorded = interrupted.entries.len();
    assert!(
        (300..MASTERS).contains(&recorded),
        "stopped half-way: {recorded} entries"
    );
    let uploaded_before = masters(&cluster).await;
    // The status of an unfinished submission says so.
    let status = cluster.status(batch.as_str());
    assert!(
        status["source"].as_str().unwrap().contains("--resume"),
        "{status}"
    );

    // Submitting the same folder again goes on with the same batch (stopped once more).
    tokio::time::sleep(Duration::from_millis(1100)).await; // a re-upload would show a later time
    let again = submit_until(&cluster, dir.path(), recorded + 300).await;
    assert!(again.contains(batch.as_str()), "the same batch: {again}");
    let resumed = caravan_scheduler::index::load(&cluster.store, &batch)
        .await
        .unwrap();
    assert!(
        (recorded + 300..MASTERS).contains(&resumed.entries.len()),
        "went on with the batch: {} entries",
        resumed.entries.len()
    );
    assert_eq!(
        cluster
            .store
            .list("batches/")
            .await
            .unwrap()
            .iter()
            .filter(|(k, _)| k.ends_with("/index.json"))
            .count(),
        1,
        "no second batch"
    );

    // `--resume <batch>` (its source from the index) submits the rest.
    let mut resume = caravan();
    resume
        .args(["submit", "--resume", batch.as_str(), "--no-wait", "--json"])
        .envs(cluster.envs.iter().map(|(k, v)| (k, v)));
    let out = output_within(resume, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["pending"].as_array().unwrap().len(), MASTERS);

    // Every asset published exactly once: the broker holds one job per master.
    let queue = Topology::new(&cluster.prefix)
        .unwrap()
        .job_queue(JobKind::Image);
    assert_eq!(cluster.messages_in(&queue).await, MASTERS as u64);
    // Nothing uploaded twice: what was stored before the resume was not written again.
    let after = masters(&cluster).await;
    assert_eq!(after.len(), MASTERS);
    for (key, modified) in &uploaded_before {
        assert_eq!(after.get(key), Some(modified), "{key} was uploaded again");
    }
    // The index is complete: each file once, each queued with its own job.
    let index = caravan_scheduler::index::load(&cluster.store, &batch)
        .await
        .unwrap();
    assert_eq!(index.entries.len(), MASTERS);
    let names: HashSet<&str> = index
        .entries
        .iter()
        .map(|e| e.source_name.as_str())
        .collect();
    assert_eq!(names.len(), MASTERS);
    let jobs: HashSet<_> = (index.entries.iter())
        .map(|e| match e.disposition {
            Disposition::Queued { job_id } => job_id,
            ref other => panic!("{} not queued: {other:?}", e.source_name),
        })
        .collect();
    assert_eq!(jobs.len(), MASTERS);
    let header = caravan_scheduler::index::header(&cluster.store, &batch)
        .await
        .unwrap();
    assert_eq!(header.state, SubmissionState::Complete);
    // Complete: submitting the folder again would make a batch of its own.
    assert!(
        cluster.store.list("submissions/").await.unwrap().is_empty(),
        "no unfinished submission is remembered"
    );
}

/// Runs `caravan submit <dir>` and interrupts it (SIGINT) once `stored` masters are in the
/// store; returns what it wrote to stderr, which says how to go on.
async fn submit_until(cluster: &Cluster, dir: &Path, stored: usize) -> String {
    let mut submit = caravan();
    submit
        .args(["submit", dir.to_str().unwrap(), "--no-wait", "--json"])
        .args(["--uploads", "2"])
        .envs(cluster.envs.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = submit.spawn().unwrap();
    let started = Instant::now();
    while masters(cluster).await.len() < stored {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--resume"), "says how to go on: {stderr}");
    stderr
}

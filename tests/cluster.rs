//! The cluster: `caravan worker` processes of the real binary on RabbitMQ and Garage, fed by
//! `caravan submit`. Each run uses its own queue prefix and bucket.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use caravan_store::{S3Config, S3Store, Store};
use common::*;

struct Workers {
    children: Vec<(Child, std::path::PathBuf)>,
}

impl Workers {
    fn start(count: usize, envs: &[(String, String)], logs: &std::path::Path) -> Self {
        let children = (0..count)
            .map(|i| {
                let log = logs.join(format!("worker-{i}.log"));
                let child = caravan()
                    .args(["worker", "--slots", "2"])
                    .envs(envs.iter().map(|(k, v)| (k, v)))
                    .env("CARAVAN_LOG", "info")
                    .stdout(Stdio::null())
                    .stderr(std::fs::File::create(&log).unwrap())
                    .spawn()
                    .unwrap();
                (child, log)
            })
            .collect();
        let workers = Self { children };
        workers.wait_until_consuming();
        workers
    }

    fn wait_until_consuming(&self) {
        for (_, log) in &self.children {
            wait_for_log(log, "Consuming jobs", Duration::from_secs(30));
        }
    }

    /// SIGTERM each worker; each must exit 0 within its shutdown grace.
    fn stop(mut self) {
        for (child, log) in &mut self.children {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(70);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(Instant::now() < deadline, "worker ignored SIGTERM");
                std::thread::sleep(Duration::from_millis(100));
            };
            assert!(
                status.success(),
                "worker exited with {status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        self.children.clear();
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (child, _) in &mut self.children {
            let _ = child.kill();
        }
    }
}

/// One test's own bucket, queue prefix and scratch folder on the shared RabbitMQ and Garage.
struct Run {
    name: String,
    envs: Vec<(String, String)>,
    store: Store,
    _scratch: tempfile::TempDir,
}

impl Run {
    async fn new(label: &str) -> Self {
        require_rabbitmq();
        let name = unique(label);
        let mut envs = garage_env().clone();
        envs.retain(|(k, _)| k != "CARAVAN_S3_BUCKET");
        let scratch = tempfile::tempdir().unwrap();
        envs.extend([
            ("CARAVAN_S3_BUCKET".to_owned(), name.clone()),
            ("CARAVAN_QUEUE_PREFIX".to_owned(), name.clone()),
            (
                "CARAVAN_SCRATCH_DIR".to_owned(),
                scratch.path().display().to_string(),
            ),
        ]);
        let setting = |k: &str| envs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let s3 = S3Store::new(&S3Config::from_env(setting).unwrap());
        s3.ensure_bucket().await.unwrap();
        Self {
            name,
            envs,
            store: Store::S3(s3),
            _scratch: scratch,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_process_a_batch_through_rabbitmq_and_s3() {
    let Run {
        envs,
        store,
        _scratch,
        ..
    } = Run::new("e2e").await;

    let logs = tempfile::tempdir().unwrap();
    let workers = Workers::start(2, &envs, logs.path());
    let batch = sample_batch().to_str().unwrap();

    let first = run_json(&["submit", batch, "--json"], &envs);
    check_first_run(&first);
    let mut made_by = check_receipts(&store, &first).await;
    made_by.sort();
    made_by.dedup();
    assert_eq!(
        made_by.len(),
        2,
        "both workers should have taken jobs: {made_by:?}"
    );

    // Masters were uploaded under their hash; the batch index and failure record are stored.
    for item in first["done"].as_array().unwrap() {
        let asset = caravan_proto::AssetId::parse(item["asset_id"].as_str().unwrap()).unwrap();
        assert!(store
            .size_of(&caravan_proto::keys::master(&asset))
            .await
            .unwrap()
            .is_some());
    }
    let batch_id = caravan_proto::BatchId::parse(first["batch_id"].as_str().unwrap()).unwrap();
    assert!(store
        .size_of(&caravan_proto::keys::batch(&batch_id))
        .await
        .unwrap()
        .is_some());

    let status = run_json(&["status", batch_id.as_str(), "--json"], &envs);
    assert_eq!(names(&status, "done").len(), GOOD_ASSETS);
    assert_eq!(status["failed"][0]["code"], "undecodable_input");

    let second = run_json(&["submit", batch, "--json"], &envs);
    check_second_run(&second);

    workers.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_already_uploaded_under_a_bucket_prefix_can_be_submitted() {
    let Run {
        name,
        envs,
        store,
        _scratch,
    } = Run::new("e2e-prefix").await;
    // A digitization station uploaded its masters straight into the bucket.
    for entry in files_below(sample_batch()) {
        let relative = entry
            .strip_prefix(sample_batch())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        store
            .put_file(
                &format!("incoming/{relative}"),
                &entry,
                "application/octet-stream",
                &Default::default(),
            )
            .await
            .unwrap();
    }

    let logs = tempfile::tempdir().unwrap();
    let workers = Workers::start(1, &envs, logs.path());
    let source = format!("s3://{name}/incoming/");
    let first = run_json(&["submit", &source, "--json"], &envs);
    check_first_run(&first);
    check_receipts(&store, &first).await;
    let second = run_json(&["submit", &source, "--json"], &envs);
    check_second_run(&second);
    workers.stop();
}

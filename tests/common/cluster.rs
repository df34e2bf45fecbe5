//! One test's own cluster on the shared services: a bucket, a queue prefix and a scratch folder
//! of its own on a Garage and the RabbitMQ, worker processes of the real binary (logging JSON
//! to a file each), and the submissions and status queries a user makes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use caravan_store::{S3Config, S3Store, Store};
use serde_json::Value;

use super::binary::{caravan, output_within, run_json, unique, wait_for_log};
use super::garage::require_rabbitmq;

/// A bucket, queue prefix and scratch folder on the services, and the workers started on them.
#[derive(Debug)]
pub struct Cluster {
    /// The row or test this cluster belongs to, for its figures.
    pub label: String,
    /// The queue prefix and bucket name (one name for both).
    pub prefix: String,
    /// Everything a `caravan` command needs to reach this cluster.
    pub envs: Vec<(String, String)>,
    pub store: Store,
    /// One log file per worker process started.
    pub logs: tempfile::TempDir,
    pub scratch: tempfile::TempDir,
    /// Worker processes, by start order; `None` once killed or stopped.
    pub workers: Vec<Option<Child>>,
}

impl Cluster {
    /// A new cluster named after `label` on the Garage that `garage` (its `CARAVAN_S3_*`
    /// settings) points at, with `extra` settings for every command.
    pub async fn new(label: &str, garage: Vec<(String, String)>, extra: &[(&str, &str)]) -> Self {
        require_rabbitmq();
        let prefix = unique(label);
        let scratch = tempfile::tempdir().unwrap();
        let mut envs = garage;
        envs.retain(|(k, _)| k != "CARAVAN_S3_BUCKET");
        envs.extend([
            ("CARAVAN_S3_BUCKET".to_owned(), prefix.clone()),
            ("CARAVAN_QUEUE_PREFIX".to_owned(), prefix.clone()),
            (
                "CARAVAN_SCRATCH_DIR".to_owned(),
                scratch.path().display().to_string(),
            ),
            ("CARAVAN_LOG_FORMAT".to_owned(), "json".to_owned()),
        ]);
        envs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let setting = |k: &str| envs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let s3 = S3Store::new(&S3Config::from_env(setting).unwrap());
        s3.ensure_bucket().await.unwrap();
        Self {
            label: label.to_owned(),
            prefix,
            envs,
            store: Store::S3(s3),
            logs: tempfile::tempdir().unwrap(),
            scratch,
            workers: Vec::new(),
        }
    }

    /// Starts a worker process (two job slots unless `extra` sets `CARAVAN_SLOTS`) with `extra`
    /// settings; waits until it consumes.
    pub fn start_worker(&mut self, extra: &[(&str, &str)]) -> usize {
        let log = self.log_of(self.workers.len());
        let child = caravan()
            .arg("worker")
            .env("CARAVAN_SLOTS", "2")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        wait_for_log(&log, "Consuming jobs", Duration::from_secs(60));
        self.workers.push(Some(child));
        self.workers.len() - 1
    }

    /// The log file of worker `i`.
    pub fn log_of(&self, i: usize) -> std::path::PathBuf {
        self.logs.path().join(format!("worker-{i}.log"))
    }

    /// Kills worker `i` with SIGKILL.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.workers[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self, i: usize) -> u32 {
        self.workers[i].as_ref().unwrap().id()
    }

    /// Sends SIGTERM to worker `i` and waits for it to exit (at most `limit`).
    pub fn sigterm(&mut self, i: usize, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &self.pid(i).to_string()])
            .status()
            .unwrap();
        let status = self.wait_exit(i, limit);
        (status, started.elapsed())
    }

    /// Waits (at most `limit`) for worker `i`, already told to stop, to exit.
    pub fn wait_exit(&mut self, i: usize, limit: Duration) -> std::process::ExitStatus {
        let mut child = self.workers[i].take().unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "worker did not exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops every live worker with SIGTERM; each must exit 0 within its shutdown grace.
    pub fn stop_workers(&mut self) {
        for i in 0..self.workers.len() {
            if self.workers[i].is_none() {
                continue;
            }
            let (status, _) = self.sigterm(i, Duration::from_secs(70));
            assert!(
                status.success(),
                "worker exited with {status}: {}",
                std::fs::read_to_string(self.log_of(i)).unwrap_or_default()
            );
        }
    }

    /// `caravan submit <dir> --json <args>`, expecting success.
    pub fn submit(&self, dir: &Path, args: &[&str]) -> Value {
        let mut all = vec!["submit", dir.to_str().unwrap(), "--json"];
        all.extend_from_slice(args);
        run_json(&all, &self.envs)
    }

    /// `caravan <args>` against this cluster, expecting success and a JSON summary.
    pub fn run_json(&self, args: &[&str]) -> Value {
        run_json(args, &self.envs)
    }

    /// `caravan status <batch> --json`: exit 0 (every asset ended) or 3 (some pending).
    pub fn status(&self, batch: &str) -> Value {
        let mut status = caravan();
        status
            .args(["status", batch, "--json"])
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        let out = output_within(status, Duration::from_secs(120));
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "caravan status {batch}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Polls `caravan status` until nothing of `batch` is pending.
    pub fn wait_for(&self, batch: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let mut status = caravan();
            status
                .args(["status", batch, "--json"])
                .envs(self.envs.iter().map(|(k, v)| (k, v)));
            let out = output_within(status, Duration::from_secs(120));
            if let Ok(summary) = serde_json::from_slice::<Value>(&out.stdout) {
                if summary["pending"].as_array().is_some_and(|p| p.is_empty()) {
                    return summary;
                }
            }
            assert!(
                Instant::now() < deadline,
                "batch {batch} did not finish in {limit:?}; {}",
                String::from_utf8_lossy(&out.stdout)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Every log record of every worker process this cluster started, parsed. Worker logs are
    /// JSON lines only (the pipeline child's stderr is logged as records too): a line that does
    /// not parse fails the test instead of being skipped.
    pub fn log_records(&self) -> Vec<Value> {
        let mut records = Vec::new();
        for i in 0..self.workers.len() {
            let log = self.log_of(i);
            for line in std::fs::read_to_string(&log).unwrap_or_default().lines() {
                let record = serde_json::from_str::<Value>(line).unwrap_or_else(|e| {
                    panic!(
                        "{}: a log line that is not JSON ({e}): {line}",
                        log.display()
                    )
                });
                records.push(record);
            }
        }
        records
    }

    /// Records whose message is `message`.
    pub fn records_of(&self, message: &str) -> Vec<Value> {
        (self.log_records().into_iter())
            .filter(|v| v["fields"]["message"] == message)
            .collect()
    }

    /// Work that reached its commit point and ended there — a receipt written ("Receipt
    /// committed") or found written by another worker at that moment ("Another worker committed
    /// this asset first") — per asset, over every worker process this cluster started: more
    /// than one for an asset is work done twice.
    pub fn commits(&self) -> BTreeMap<String, usize> {
        let mut commits = self.per_asset("Receipt committed");
        for (asset, n) in
            self.per_asset("Another worker committed this asset first; its receipt stands")
        {
            *commits.entry(asset).or_insert(0) += n;
        }
        commits
    }

    /// Assets whose commit was begun ("Committing the receipt") more often than it ended:
    /// attempts a kill cut short between the commit record and the receipt, so the
    /// next delivery did the work again. At-least-once delivery, not a duplicate.
    pub fn commits_redone(&self) -> usize {
        let ended = self.commits();
        (self.per_asset("Committing the receipt").iter())
            .filter(|(asset, n)| **n > ended.get(*asset).copied().unwrap_or(0))
            .count()
    }

    fn per_asset(&self, message: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for v in self.records_of(message) {
            let asset = v["span"]["asset_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *counts.entry(asset).or_insert(0) += 1;
        }
        counts
    }

    /// Records whose message is `message`, logged before `at`.
    pub fn records_before(&self, message: &str, at: chrono::DateTime<chrono::Utc>) -> usize {
        (self.records_of(message).iter())
            .filter(|v| {
                v["timestamp"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t < at)
            })
            .count()
    }

    /// Jobs that had started and not yet ended (done or failed) at `at`: work in flight.
    pub fn in_flight_at(&self, at: chrono::DateTime<chrono::Utc>) -> usize {
        let started = self.records_before("Job started", at);
        let ended = self.records_before("Job done", at)
            + self.records_before("Transient failure; will retry", at)
            + self.records_before("Job failed permanently", at);
        started.saturating_sub(ended)
    }

    /// Log lines containing `message`, over every worker process this cluster started.
    pub fn log_lines(&self, message: &str) -> usize {
        (0..self.workers.len())
            .map(|i| {
                std::fs::read_to_string(self.log_of(i))
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains(message))
                    .count()
            })
            .sum()
    }

    /// Messages in the dead-letter queue, counted by the broker itself (a passive declare;
    /// `rabbitmqctl list_queues` figures for quorum queues lag by seconds). Dead-lettering is
    /// asynchronous, so this waits a moment for the count to settle.
    pub async fn dead_letters(&self) -> u64 {
        self.messages_in(&format!("{}.dead", self.prefix)).await
    }

    /// Messages waiting in `queue`, counted by the broker (see [`Self::dead_letters`]), once
    /// the count holds still.
    pub async fn messages_in(&self, queue: &str) -> u64 {
        let connection =
            lapin::Connection::connect(caravan_testkit::broker::TEST_BROKER, Default::default())
                .await
                .unwrap();
        let channel = connection.create_channel().await.unwrap();
        let mut last = None;
        for _ in 0..20 {
            let queue = channel
                .queue_declare(
                    queue,
                    lapin::options::QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    Default::default(),
                )
                .await
                .unwrap();
            let count = u64::from(queue.message_count());
            if last == Some(count) {
                break;
            }
            last = Some(count);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let _ = connection.close(200, "done").await;
        last.unwrap_or(0)
    }
}

impl Drop for Cluster {
    /// Kills the workers still running, and removes the cluster's queues and exchanges from the
    /// shared broker (see [`caravan_testkit::broker`]: left behind, they wedge it).
    fn drop(&mut self) {
        for i in 0..self.workers.len() {
            self.kill9(i);
        }
        caravan_testkit::broker::remove_topology(&self.prefix);
    }
}

//! Fault injection: each row submits a batch to real worker processes on RabbitMQ and Garage,
//! injects one fault, waits for the batch to end and prints a figure:
//! published / receipts / failed / dead letters / lost / duplicates. Every row expects 0 lost
//! and 0 duplicates. Rows restart the broker and stop the S3 server, so they run one at a time
//! (a lock), on their own Garage, as CI's separate `fault-injection` step:
//!
//! ```sh
//! cargo test --features fault-injection --test faults -- --test-threads=1 --nocapture
//! ```

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use caravan_proto::{keys, AssetId, BatchId, BatchIndex, Disposition, ProfileName};
use caravan_store::{S3Config, S3Store, Store};
use common::*;
use serde_json::Value;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const GARAGE_PORT: &str = "3920";

fn fault_garage_env() -> Vec<(String, String)> {
    let dir = repo().join("target/garage-faults");
    garage_env_at(&[
        ("CARAVAN_GARAGE_DIR", dir.to_str().unwrap()),
        ("CARAVAN_GARAGE_PORT", GARAGE_PORT),
    ])
}

fn garage(command: &str) {
    let status = Command::new(repo().join("scripts/garage-dev.sh"))
        .arg(command)
        .env("CARAVAN_GARAGE_DIR", repo().join("target/garage-faults"))
        .env("CARAVAN_GARAGE_PORT", GARAGE_PORT)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "garage-dev.sh {command}");
}

struct Cluster {
    row: String,
    prefix: String,
    envs: Vec<(String, String)>,
    store: Store,
    logs: tempfile::TempDir,
    _scratch: tempfile::TempDir,
    workers: Vec<Option<Child>>,
    spawned: usize,
}

impl Cluster {
    async fn new(row: &str, extra: &[(&str, &str)]) -> Self {
        require_rabbitmq();
        let prefix = unique(&format!("fault-{row}"));
        let scratch = tempfile::tempdir().unwrap();
        let mut envs = fault_garage_env();
        envs.retain(|(k, _)| k != "CARAVAN_S3_BUCKET");
        envs.extend([
            ("CARAVAN_S3_BUCKET".to_owned(), prefix.clone()),
            ("CARAVAN_QUEUE_PREFIX".to_owned(), prefix.clone()),
            (
                "CARAVAN_SCRATCH_DIR".to_owned(),
                scratch.path().display().to_string(),
            ),
            ("CARAVAN_LOG_FORMAT".to_owned(), "json".to_owned()),
            ("CARAVAN_RETRY_BASE_MS".to_owned(), "500".to_owned()),
        ]);
        envs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config =
            S3Config::from_env(|k| envs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
                .unwrap();
        let s3 = S3Store::new(&config);
        s3.ensure_bucket().await.unwrap();
        Self {
            row: row.to_owned(),
            prefix,
            envs,
            store: Store::S3(s3),
            logs: tempfile::tempdir().unwrap(),
            _scratch: scratch,
            workers: Vec::new(),
            spawned: 0,
        }
    }

    /// Starts a worker process; waits until it consumes.
    fn start_worker(&mut self, extra: &[(&str, &str)]) -> usize {
        let log = self
            .logs
            .path()
            .join(format!("worker-{}.log", self.spawned));
        self.spawned += 1;
        let child = caravan()
            .args(["worker", "--slots", "2"])
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

    fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.workers[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn pid(&self, i: usize) -> u32 {
        self.workers[i].as_ref().unwrap().id()
    }

    /// SIGTERM and wait for the exit (at most `limit`).
    fn sigterm(&mut self, i: usize, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let mut child = self.workers[i].take().unwrap();
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < limit,
                "worker did not exit within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn submit(&self, dir: &Path, args: &[&str]) -> Value {
        let mut all = vec!["submit", dir.to_str().unwrap(), "--json"];
        all.extend_from_slice(args);
        run_json(&all, &self.envs)
    }

    /// Polls `caravan status` until nothing is pending.
    fn wait_for(&self, batch: &str, limit: Duration) -> Value {
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

    /// "Job done" log lines per asset, over every worker process this row started.
    fn completions(&self) -> BTreeMap<String, usize> {
        let mut done = BTreeMap::new();
        for entry in std::fs::read_dir(self.logs.path()).unwrap().flatten() {
            for line in std::fs::read_to_string(entry.path())
                .unwrap_or_default()
                .lines()
            {
                let Ok(v) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                if v["fields"]["message"] == "Job done" {
                    let asset = v["span"]["asset_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    *done.entry(asset).or_insert(0) += 1;
                }
            }
        }
        done
    }

    fn log_lines(&self, message: &str) -> usize {
        std::fs::read_dir(self.logs.path())
            .unwrap()
            .flatten()
            .map(|e| {
                std::fs::read_to_string(e.path())
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
    async fn dead_letters(&self) -> u64 {
        let connection =
            lapin::Connection::connect("amqp://guest:guest@127.0.0.1:5672/%2f", Default::default())
                .await
                .unwrap();
        let channel = connection.create_channel().await.unwrap();
        let mut last = None;
        for _ in 0..20 {
            let queue = channel
                .queue_declare(
                    &format!("{}.dead", self.prefix),
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

    /// Counts what the store says about `batch` and prints the row's figure.
    async fn tally(&self, batch: &str, note: &str) -> Tally {
        let index: BatchIndex = serde_json::from_slice(
            &self
                .store
                .get_bytes(&keys::batch(&BatchId::parse(batch).unwrap()))
                .await
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let profile = ProfileName::default_profile();
        let mut tally = Tally::default();
        for entry in &index.entries {
            let (Disposition::Queued { .. }, Some(asset)) = (&entry.disposition, &entry.asset_id)
            else {
                continue;
            };
            tally.published += 1;
            if self
                .store
                .size_of(&keys::receipt(asset, &profile))
                .await
                .unwrap()
                .is_some()
            {
                tally.receipts += 1;
            } else if self
                .store
                .size_of(&keys::failure(asset, &profile))
                .await
                .unwrap()
                .is_some()
            {
                tally.failed += 1;
            } else {
                tally.lost += 1;
            }
        }
        tally.duplicates = self.completions().values().filter(|&&n| n > 1).count();
        tally.dead_letters = self.dead_letters().await;
        println!(
            "row {:<26} | published {:>4} | receipts {:>4} | failed {:>3} | dead letters {:>3} | lost {} | duplicates {} | {note}",
            self.row, tally.published, tally.receipts, tally.failed, tally.dead_letters, tally.lost, tally.duplicates
        );
        tally
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.workers.len() {
            self.kill9(i);
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    published: usize,
    receipts: usize,
    failed: usize,
    dead_letters: u64,
    lost: usize,
    duplicates: usize,
}

impl Tally {
    fn assert_clean(&self) {
        assert_eq!(self.lost, 0, "{self:?}");
        assert_eq!(self.duplicates, 0, "{self:?}");
    }
}

/// `n` distinct small PNG masters.
fn image_batch(n: usize, size: (u32, u32)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let seed = i as u32;
        let img = image::RgbImage::from_fn(size.0, size.1, |x, y| {
            image::Rgb([
                (x.wrapping_mul(seed + 1) % 251) as u8,
                (y.wrapping_add(seed) % 241) as u8,
                (seed % 256) as u8,
            ])
        });
        img.save(dir.path().join(format!("master-{i:04}.png")))
            .unwrap();
    }
    dir
}

/// A 720p H.264 master long enough to keep a worker busy for a while.
fn long_video(dir: &Path, seconds: u32) -> PathBuf {
    let path = dir.join("long-720p.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=25",
            "-t",
        ])
        .arg(seconds.to_string())
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

fn pgrep_exec_jobs() -> usize {
    let out = Command::new("pgrep")
        .args(["-f", "caravan exec-job"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row1_kill_9_workers_repeatedly_mid_batch() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new("1-kill-9", &[("CARAVAN_DELIVERY_LIMIT", "100")]).await;
    let batch = image_batch(200, (640, 480));
    cluster.start_worker(&[]);
    cluster.start_worker(&[]);
    let envs = cluster.envs.clone();
    let dir = batch.path().to_owned();
    let submit =
        std::thread::spawn(move || run_json(&["submit", dir.to_str().unwrap(), "--json"], &envs));
    let mut kills = 0;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    // 30 kills, then let the batch finish (a killed worker's job waits ~9 s for its lease to go
    // stale, so killing for ever would only slow the batch down).
    while kills < 30 && !submit.is_finished() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(1000 + rng % 1500));
        if submit.is_finished() {
            break;
        }
        let victim = (rng % 2) as usize;
        let alive: Vec<usize> = (0..cluster.workers.len())
            .filter(|&i| cluster.workers[i].is_some())
            .collect();
        let i = alive[victim % alive.len()];
        cluster.kill9(i);
        kills += 1;
        cluster.start_worker(&[]);
    }
    let summary = submit.join().unwrap();
    let t = cluster
        .tally(
            summary["batch_id"].as_str().unwrap(),
            &format!("{kills} kill -9"),
        )
        .await;
    assert!(
        kills >= 20,
        "only {kills} kills happened; the batch finished too fast"
    );
    // Killed workers' scratch was cleaned by their successors; live workers hold none.
    let leftovers = files_below(cluster._scratch.path());
    assert!(leftovers.is_empty(), "scratch left behind: {leftovers:?}");
    assert_eq!(t.receipts, 200, "{t:?}");
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row2_sigterm_during_a_long_job() {
    let _one = ONE_AT_A_TIME.lock().await;
    for (grace, expect_finish) in [("120", true), ("2", false)] {
        let mut cluster = Cluster::new(
            &format!("2-sigterm-grace-{grace}s"),
            &[("CARAVAN_SHUTDOWN_GRACE", grace)],
        )
        .await;
        let batch = image_batch(6, (320, 240));
        long_video(batch.path(), 40);
        let w = cluster.start_worker(&[]);
        let summary = cluster.submit(batch.path(), &["--no-wait"]);
        let batch_id = summary["batch_id"].as_str().unwrap().to_owned();
        // Wait until the video job is running, then signal.
        let deadline = Instant::now() + Duration::from_secs(60);
        let log = cluster.logs.path().join("worker-0.log");
        let video_started = |log: &Path| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.contains("Job started") && l.contains("long-720p")
                        || (l.contains("Job started") && l.contains(&video_asset(batch.path())))
                })
        };
        while !video_started(&log) {
            assert!(Instant::now() < deadline, "the video job did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let _pid = cluster.pid(w);
        let started_before = cluster.log_lines("Job started");
        let (status, took) = cluster.sigterm(w, Duration::from_secs(180));
        let started_after = cluster.log_lines("Job started") - started_before;
        assert!(status.success(), "worker exit status {status}");
        let text = std::fs::read_to_string(&log).unwrap();
        let after_signal: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains("Shutdown requested"))
            .collect();
        let new_deliveries = after_signal
            .iter()
            .filter(|l| l.contains("Job started"))
            .count();
        assert_eq!(new_deliveries, 0, "jobs started after SIGTERM");
        if expect_finish {
            assert!(
                after_signal.iter().any(|l| l.contains("Job done")),
                "the video job should finish within the grace"
            );
        } else {
            assert!(
                after_signal
                    .iter()
                    .any(|l| l.contains("handing jobs in flight back")),
                "the job should be handed back"
            );
            assert!(took < Duration::from_secs(40), "exit took {took:?}");
        }
        assert_eq!(
            pgrep_exec_jobs(),
            0,
            "a pipeline process outlived its worker"
        );
        // Another worker finishes what is left.
        cluster.start_worker(&[]);
        cluster.wait_for(&batch_id, Duration::from_secs(240));
        let t = cluster
            .tally(
                &batch_id,
                &format!(
                    "exit 0 after {:.1} s, {started_after} jobs started after signal",
                    took.as_secs_f64()
                ),
            )
            .await;
        assert_eq!(t.receipts, 7, "{t:?}");
        t.assert_clean();
    }
}

fn video_asset(dir: &Path) -> String {
    let (_, _, sha) = caravan_scheduler_hash(&dir.join("long-720p.mp4"));
    sha
}

fn caravan_scheduler_hash(path: &Path) -> (u64, Vec<u8>, String) {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap();
    (
        bytes.len() as u64,
        Vec::new(),
        hex::encode(Sha256::digest(&bytes)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row3_restart_rabbitmq_during_publishing_and_processing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new("3-broker-restart", &[]).await;
    let batch = image_batch(200, (640, 480));
    cluster.start_worker(&[]);
    cluster.start_worker(&[]);
    let envs = cluster.envs.clone();
    let dir = batch.path().to_owned();
    let submit =
        std::thread::spawn(move || run_json(&["submit", dir.to_str().unwrap(), "--json"], &envs));
    std::thread::sleep(Duration::from_millis(2500));
    let stop = Command::new("rabbitmqctl")
        .args(["-q", "stop_app"])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let start = Command::new("rabbitmqctl")
        .args(["-q", "start_app"])
        .status()
        .unwrap();
    assert!(stop.success() && start.success());
    // Later rows need an answering broker, not just an open port.
    let ready = Command::new("timeout")
        .args(["120", "rabbitmqctl", "-q", "await_startup"])
        .status()
        .unwrap();
    assert!(ready.success(), "RabbitMQ did not finish starting");
    let summary = submit.join().unwrap();
    let t = cluster
        .tally(
            summary["batch_id"].as_str().unwrap(),
            "stop_app/start_app 2.5 s into the batch",
        )
        .await;
    assert_eq!(t.receipts, 200, "{t:?}");
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row4_stop_the_s3_server_mid_batch() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new("4-s3-outage-35s", &[("CARAVAN_MAX_ATTEMPTS", "12")]).await;
    let batch = image_batch(60, (1600, 1200));
    cluster.start_worker(&[]);
    cluster.start_worker(&[]);
    let summary = cluster.submit(batch.path(), &["--no-wait"]);
    let batch_id = summary["batch_id"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_secs(2));
    garage("halt");
    std::thread::sleep(Duration::from_secs(35));
    garage("start");
    cluster.wait_for(&batch_id, Duration::from_secs(300));
    let retried = cluster.log_lines("Transient failure; will retry");
    let t = cluster
        .tally(&batch_id, &format!("{retried} transient failures retried"))
        .await;
    assert_eq!(t.receipts, 60, "{t:?}");
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row5_worker_dies_after_outputs_before_receipt() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new("5-die-before-receipt", &[]).await;
    let batch = image_batch(5, (800, 600));
    let doomed = cluster.start_worker(&[("CARAVAN_FAILPOINT", "before_receipt")]);
    let summary = cluster.submit(batch.path(), &["--no-wait"]);
    let batch_id = summary["batch_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = cluster.workers[doomed]
            .as_mut()
            .unwrap()
            .try_wait()
            .unwrap()
        {
            break status;
        }
        assert!(Instant::now() < deadline, "the failpoint did not fire");
        std::thread::sleep(Duration::from_millis(50));
    };
    cluster.workers[doomed] = None;
    assert!(!status.success());
    cluster.start_worker(&[]);
    cluster.wait_for(&batch_id, Duration::from_secs(120));
    let t = cluster
        .tally(&batch_id, "worker aborted between outputs and receipt")
        .await;
    assert_eq!(t.receipts, 5, "{t:?}");
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row5b_poison_job_reaches_the_dead_letter_queue() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new(
        "5b-poison-delivery-limit",
        &[("CARAVAN_DELIVERY_LIMIT", "2")],
    )
    .await;
    let batch = image_batch(1, (400, 300));
    let summary = cluster.submit(batch.path(), &["--no-wait"]);
    let batch_id = summary["batch_id"].as_str().unwrap().to_owned();
    // A job that takes its worker down every time it is delivered: start workers that die on it
    // until one stays idle (the broker has dead-lettered the job).
    let mut deaths = 0;
    loop {
        let w = cluster.start_worker(&[
            ("CARAVAN_FAILPOINT", "before_receipt"),
            ("CARAVAN_KINDS", "image"),
        ]);
        let deadline = Instant::now() + Duration::from_secs(15);
        let died = loop {
            if cluster.workers[w]
                .as_mut()
                .unwrap()
                .try_wait()
                .unwrap()
                .is_some()
            {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if !died {
            cluster.kill9(w);
            break;
        }
        cluster.workers[w] = None;
        deaths += 1;
        assert!(deaths < 10, "the broker never gave up on the poison job");
    }
    // A healthy worker records why the broker gave up on it.
    cluster.start_worker(&[]);
    let summary = cluster.wait_for(&batch_id, Duration::from_secs(60));
    let failed = summary["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{summary:#}");
    assert_eq!(failed[0]["code"], "delivery_limit_exceeded", "{summary:#}");
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("last on worker"),
        "{summary:#}"
    );
    let t = cluster
        .tally(
            &batch_id,
            &format!("worker died {deaths} times; status: delivery_limit_exceeded"),
        )
        .await;
    assert_eq!(t.failed, 1);
    assert_eq!(t.dead_letters, 1);
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row6_same_job_published_twice_concurrently() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new("6-double-publish", &[]).await;
    let batch = image_batch(1, (4000, 3000));
    cluster.start_worker(&[]);
    cluster.start_worker(&[]);
    // Submit (publishes once), then publish the very same job again, at once.
    let queue = caravan_queue::Queue::Amqp(
        caravan_queue::AmqpQueue::connect(caravan_queue::AmqpConfig {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            topology: caravan_proto::Topology::new(&cluster.prefix).unwrap(),
            delivery_limit: 5,
            consumer_timeout_ms: 18_000_000,
            connection_name: "fault-test".into(),
        })
        .await
        .unwrap(),
    );
    let summary = cluster.submit(batch.path(), &["--no-wait"]);
    let batch_id = summary["batch_id"].as_str().unwrap().to_owned();
    let index: BatchIndex = serde_json::from_slice(
        &cluster
            .store
            .get_bytes(&keys::batch(&BatchId::parse(&batch_id).unwrap()))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let entry = &index.entries[0];
    let asset = entry.asset_id.clone().unwrap();
    let Disposition::Queued { job_id } = entry.disposition else {
        panic!("not queued")
    };
    let job = caravan_proto::Job {
        v: caravan_proto::PROTO_VERSION,
        job_id,
        batch_id: index.batch_id.clone(),
        asset_id: asset.clone(),
        master: caravan_proto::MasterLocation::Store {
            key: keys::master(&asset),
        },
        master_size: entry.size,
        media_type: "image/png".into(),
        kind: caravan_proto::JobKind::Image,
        profile: ProfileName::default_profile(),
        attempt: 1,
        source_name: None,
        submitted_at: chrono::Utc::now(),
        metadata: Default::default(),
    };
    queue.publish_job(&job).await.unwrap();
    cluster.wait_for(&batch_id, Duration::from_secs(60));
    // Both deliveries settle: one did the work, the other was acknowledged without work.
    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = |c: &Cluster| c.log_lines("Job done") + c.log_lines("without work");
    while settled(&cluster) < 2 {
        assert!(Instant::now() < deadline, "a delivery was never settled");
        std::thread::sleep(Duration::from_millis(200));
    }
    let starts = settled(&cluster);
    let t = cluster
        .tally(
            &batch_id,
            &format!("2 deliveries, {starts} settled, 1 did the work"),
        )
        .await;
    assert_eq!(t.receipts, 1);
    assert_eq!(cluster.completions().get(asset.as_str()), Some(&1));
    t.assert_clean();
    let _ = AssetId::parse(asset.as_str());
}

/// A profiles file for one row's workers.
fn profiles_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row7_hung_decode_is_killed_at_the_timeout() {
    let _one = ONE_AT_A_TIME.lock().await;
    let profiles = profiles_file("[profiles.default]\nlimits = { timeout_seconds = 3 }\n");
    let profiles_path = profiles.path().display().to_string();
    let mut cluster = Cluster::new("7-timeout", &[("CARAVAN_PROFILES", &profiles_path)]).await;
    let batch = image_batch(3, (320, 240));
    long_video(batch.path(), 40);
    cluster.start_worker(&[]);
    let summary = cluster.submit(batch.path(), &[]);
    let failed = summary["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{summary:#}");
    assert_eq!(failed[0]["code"], "pipeline_timeout");
    std::thread::sleep(Duration::from_millis(500));
    let left = pgrep_exec_jobs();
    let t = cluster
        .tally(
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
    let mut cluster = Cluster::new("8-hostile", &[("CARAVAN_PROFILES", &profiles_path)]).await;
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
            hostile::Expect::Refused => {
                let (code, message) = refused
                    .get(name)
                    .unwrap_or_else(|| panic!("{name:?} should be refused: {summary:#}"));
                assert!(
                    !code.is_empty() && message.len() > 20,
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
        .filter(|(_, e)| *e == hostile::Expect::Refused)
        .count();
    let t = cluster
        .tally(
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

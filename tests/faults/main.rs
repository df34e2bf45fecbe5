//! Fault injection: each row submits a batch to real worker processes on RabbitMQ and Garage,
//! injects one fault, waits for the batch to end and prints a figure:
//! published / receipts / failed / dead letters / lost / duplicates. Every row expects 0 lost
//! and 0 duplicates. Rows restart the broker and stop the S3 server, so they run one at a time
//! (a lock), on their own Garage, as CI's separate `fault-injection` step:
//!
//! ```sh
//! cargo test --features fault-injection --test faults -- --test-threads=1 --nocapture
//! ```

#[path = "../common/mod.rs"]
mod common;

mod duplicates;
mod inputs;
mod kills;
mod outages;
mod shutdown;
mod signing;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use caravan_proto::{keys, BatchId, Disposition, ProfileName};

use common::*;

pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const GARAGE_PORT: &str = "3920";

pub fn fault_garage_env() -> Vec<(String, String)> {
    let dir = repo().join("target/garage-faults");
    garage_env_at(&[
        ("CARAVAN_GARAGE_DIR", dir.to_str().unwrap()),
        ("CARAVAN_GARAGE_PORT", GARAGE_PORT),
    ])
}

pub fn garage(command: &str) {
    let status = Command::new(repo().join("scripts/garage-dev.sh"))
        .arg(command)
        .env("CARAVAN_GARAGE_DIR", repo().join("target/garage-faults"))
        .env("CARAVAN_GARAGE_PORT", GARAGE_PORT)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "garage-dev.sh {command}");
}

/// A cluster for fault row `row` on the fault suite's own Garage; quick retries.
pub async fn fault_cluster(row: &str, extra: &[(&str, &str)]) -> Cluster {
    let mut all = vec![("CARAVAN_RETRY_BASE_MS", "500")];
    all.extend_from_slice(extra);
    Cluster::new(row, fault_garage_env(), &all).await
}

#[derive(Debug, Default)]
pub struct Tally {
    pub published: usize,
    pub receipts: usize,
    pub failed: usize,
    pub dead_letters: u64,
    pub lost: usize,
    pub duplicates: usize,
}

impl Tally {
    pub fn assert_clean(&self) {
        assert_eq!(self.lost, 0, "{self:?}");
        assert_eq!(self.duplicates, 0, "{self:?}");
    }
}

/// Counts what the store says about `batch` and prints the row's figure.
pub async fn tally(cluster: &Cluster, batch: &str, note: &str) -> Tally {
    let batch = BatchId::parse(batch).unwrap();
    let index = caravan_scheduler::index::load(&cluster.store, &batch)
        .await
        .unwrap();
    let profile = ProfileName::default_profile();
    let mut tally = Tally::default();
    for entry in &index.entries {
        let (Disposition::Queued { .. }, Some(asset)) = (&entry.disposition, &entry.asset_id)
        else {
            continue;
        };
        tally.published += 1;
        if cluster
            .store
            .size_of(&keys::receipt(asset, &profile))
            .await
            .unwrap()
            .is_some()
        {
            tally.receipts += 1;
        } else if cluster
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
    tally.duplicates = cluster.commits().values().filter(|&&n| n > 1).count();
    tally.dead_letters = cluster.dead_letters().await;
    println!(
        "row {:<26} | published {:>4} | receipts {:>4} | failed {:>3} | dead letters {:>3} | lost {} | duplicates {} | commits redone {} | {note}",
        cluster.label, tally.published, tally.receipts, tally.failed, tally.dead_letters, tally.lost, tally.duplicates, cluster.commits_redone()
    );
    tally
}

/// `n` distinct small PNG masters.
pub fn image_batch(n: usize, size: (u32, u32)) -> tempfile::TempDir {
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
pub fn long_video(dir: &Path, seconds: u32) -> PathBuf {
    let seconds = seconds.to_string();
    caravan_testkit::ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=25",
            "-t",
            &seconds,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
        &dir.join("long-720p.mp4"),
    )
}

pub fn pgrep_exec_jobs() -> usize {
    let out = Command::new("pgrep")
        .args(["-f", "caravan exec-job"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// A profiles file for one row's workers.
pub fn profiles_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

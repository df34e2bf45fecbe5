//! Bulk submissions and the cost around each job (`cargo bench --bench bulk`; needs RabbitMQ on
//! 127.0.0.1:5672, as the tests do). `CARAVAN_BENCH_SCALE` scales every count.
//!
//! 1. `caravan submit --no-wait` of 100,000 small generated masters (a folder store, the local
//!    RabbitMQ): assets a second and peak RSS (`wait4`) at a tenth, half and all of them
//!    (target ≥ 2,000/s, flat RSS ≤ 200 MiB). The reference: `sha256sum` of the same files in
//!    the same run (the hashing every submission must do), the ratio printed.
//! 2. Per-job overhead: tiny masters through `caravan run` (two slots) and through one
//!    `caravan worker` (two slots, folder store): wall per job per slot, less each job's own
//!    span from its receipt (`finished_at − started_at`: fetch, pipeline child, uploads), is
//!    what the machinery around a job costs (target ≤ 20 ms).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fresh, measure, scale};

const CARAVAN: &str = env!("CARGO_BIN_EXE_caravan");

fn main() {
    let work = tempfile::tempdir().expect("a temporary folder");
    submissions(work.path());
    println!();
    per_job_overhead(work.path());
}

/// `n` distinct small files that sniff as PNG (hashing and publishing is what is measured;
/// no worker reads them).
fn write_masters(dir: &Path, n: usize) {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x08\0\0\0\x08\x08\x02\0\0\0";
    for i in 0..n {
        let folder = dir.join(format!("box-{:03}", i / 5000));
        if i % 5000 == 0 {
            std::fs::create_dir_all(&folder).unwrap();
        }
        let mut bytes = PNG.to_vec();
        bytes.extend_from_slice(format!("page {i}").as_bytes());
        std::fs::write(folder.join(format!("page-{i:06}.png")), bytes).unwrap();
    }
}

fn submissions(work: &Path) {
    let total = ((100_000.0 * scale()) as usize).max(100);
    println!("| masters | caravan submit s | assets a second | peak RSS MiB | sha256sum s | ÷ sha256sum |");
    println!("|---|---|---|---|---|---|");
    for n in [total / 10, total / 2, total] {
        let masters = fresh(work, &format!("masters-{n}"));
        write_masters(&masters, n);
        let prefix = format!("bench-bulk-{n}-{}", std::process::id());
        let store = fresh(work, &format!("store-{n}"));
        let mut submit = Command::new(CARAVAN);
        submit
            .args(["submit", masters.to_str().unwrap(), "--no-wait", "--json"])
            .env("CARAVAN_QUEUE_PREFIX", &prefix)
            .env("CARAVAN_STORE_DIR", &store)
            .env("CARAVAN_LOG_FORMAT", "json");
        let ours = measure(submit);
        caravan_testkit::broker::remove_topology(&prefix);
        let mut reference = Command::new("sh");
        reference.args([
            "-c",
            &format!(
                "find {} -type f -print0 | xargs -0 sha256sum > /dev/null",
                masters.display()
            ),
        ]);
        let hashing = measure(reference);
        println!(
            "| {n} | {:.2} | {:.0} | {:.0} | {:.2} | {} |",
            ours.wall.as_secs_f64(),
            n as f64 / ours.wall.as_secs_f64(),
            ours.peak_rss_mib,
            hashing.wall.as_secs_f64(),
            common::ratio(ours.wall.as_secs_f64(), hashing.wall.as_secs_f64()),
        );
        let _ = std::fs::remove_dir_all(&masters);
        let _ = std::fs::remove_dir_all(&store);
    }
}

fn per_job_overhead(work: &Path) {
    let n = ((500.0 * scale()) as usize).max(20);
    let masters = fresh(work, "tiny");
    for i in 0..n {
        let img = image::RgbImage::from_fn(8, 8, |x, y| {
            image::Rgb([(i % 251) as u8, (i / 251) as u8, (x * 8 + y) as u8])
        });
        img.save(masters.join(format!("tiny-{i:04}.png"))).unwrap();
    }
    println!("per-job overhead: {n} masters of 8×8 px, two slots");
    println!("| mode | wall s | per job per slot ms | job span from receipts ms | overhead ms |");
    println!("|---|---|---|---|---|");

    let out = fresh(work, "embedded-out");
    let mut run = Command::new(CARAVAN);
    run.args([
        "run",
        masters.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .args(["--workers", "2", "--json"]);
    let wall = measure(run).wall;
    row("embedded (caravan run)", n, wall, &out);

    let prefix = format!("bench-overhead-{}", std::process::id());
    let store = fresh(work, "cluster-store");
    let env = |command: &mut Command| {
        command
            .env("CARAVAN_QUEUE_PREFIX", &prefix)
            .env("CARAVAN_STORE_DIR", &store)
            .env("CARAVAN_SCRATCH_DIR", work.join("cluster-scratch"))
            .env("CARAVAN_LOG_FORMAT", "json");
    };
    let mut submit = Command::new(CARAVAN);
    submit.args(["submit", masters.to_str().unwrap(), "--no-wait", "--json"]);
    env(&mut submit);
    measure(submit);
    let log = work.join("overhead-worker.log");
    let mut worker = Command::new(CARAVAN);
    worker
        .args(["worker", "--slots", "2"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    env(&mut worker);
    let started = Instant::now();
    let mut child = worker.spawn().expect("caravan worker runs");
    loop {
        let done = (std::fs::read_to_string(&log).unwrap_or_default())
            .matches("\"Job done\"")
            .count();
        if done >= n {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "{done} of {n} jobs done after half an hour"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let wall = started.elapsed();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    caravan_testkit::broker::remove_topology(&prefix);
    row("cluster (one caravan worker)", n, wall, &store);
}

/// Prints one overhead row: `n` jobs in `wall` on two slots, their spans from the receipts
/// under `store`.
fn row(mode: &str, n: usize, wall: Duration, store: &Path) {
    let mut spans = Vec::new();
    for entry in walkdir::WalkDir::new(store.join("receipts")) {
        let entry = entry.unwrap();
        if !entry.file_name().to_string_lossy().ends_with(".json") {
            continue;
        }
        let receipt: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        let at = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(receipt[field].as_str().unwrap()).unwrap()
        };
        spans.push(
            (at("finished_at") - at("started_at"))
                .num_microseconds()
                .unwrap() as f64
                / 1e3,
        );
    }
    assert_eq!(spans.len(), n, "every job has its receipt");
    let per_job = wall.as_secs_f64() * 1e3 * 2.0 / n as f64;
    let span = spans.iter().sum::<f64>() / n as f64;
    println!(
        "| {mode} | {:.2} | {per_job:.1} | {span:.1} | {:.1} |",
        wall.as_secs_f64(),
        per_job - span
    );
}

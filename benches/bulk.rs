//! Bulk submissions and the cost around each job (`cargo bench --bench bulk`; needs RabbitMQ on
//! 127.0.0.1:5672, as the tests do). `CARAVAN_BENCH_SCALE` scales every count.
//!
//! 1. `caravan submit --no-wait` of 100,000 small generated masters (a folder store, the local
//!    RabbitMQ): assets a second and peak RSS (`wait4`) at a tenth, half and all of them
//!    (target ≥ 2,000/s, flat RSS ≤ 200 MiB). The reference: `sha256sum` of the same files in
//!    the same run (the hashing every submission must do), the ratio printed.
//!    The largest set is then submitted to Garage on loopback, and `caravan status` of that
//!    batch timed (target ≤ 10 s for 100,000).
//! 2. Large masters: 20 of 200 MB submitted to Garage, in MB/s, against the same bytes sent as
//!    one single-stream `PutObject` after another with the AWS SDK, and against `rclone copy`
//!    with its defaults (target ≥ 3× single-stream and ≥ rclone). Each run writes bytes of its
//!    own, so Garage's block deduplication spares none of them its writes.
//! 3. Per-job overhead: tiny masters through `caravan run` (two slots) and through one
//!    `caravan worker` (two slots, folder store): wall per job per slot, less each job's own
//!    span from its receipt (`finished_at − started_at`: fetch, pipeline child, uploads), is
//!    what the machinery around a job costs (target ≤ 20 ms).

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::garage::Garage;
use common::{fresh, measure, scale, Measured};

const CARAVAN: &str = env!("CARGO_BIN_EXE_caravan");

fn main() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let garage = Garage::start(&format!("bench-bulk-{}", std::process::id()));
    submissions(work.path(), &garage);
    println!();
    large_uploads(work.path(), &garage);
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

fn submissions(work: &Path, garage: &Garage) {
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
        let _ = std::fs::remove_dir_all(&store);
        if n == total {
            status_on_garage(&masters, n, garage);
        }
        let _ = std::fs::remove_dir_all(&masters);
    }
}

/// `caravan submit <dir> --no-wait` to Garage (queues of their own, removed after): what it
/// cost, and its summary.
fn submit_to_garage(dir: &Path, garage: &Garage, label: &str) -> (Measured, serde_json::Value) {
    let prefix = format!("bench-bulk-{label}-{}", std::process::id());
    let mut submit = Command::new(CARAVAN);
    submit
        .args(["submit", dir.to_str().unwrap(), "--no-wait", "--json"])
        .envs(garage.env.iter().map(|(k, v)| (k, v)))
        .env("CARAVAN_QUEUE_PREFIX", &prefix)
        .env("CARAVAN_LOG_FORMAT", "json");
    let submitted = measure(submit);
    caravan_testkit::broker::remove_topology(&prefix);
    let summary = serde_json::from_slice(&submitted.stdout).unwrap();
    (submitted, summary)
}

/// `n` masters submitted to Garage, then `caravan status` of that batch.
fn status_on_garage(masters: &Path, n: usize, garage: &Garage) {
    let (submitted, summary) = submit_to_garage(masters, garage, "s3");
    let batch = summary["batch_id"].as_str().unwrap();
    // Exit 3: some assets are pending, as they are here (no workers).
    let mut status = Command::new("sh");
    status
        .args([
            "-c",
            "\"$0\" \"$@\"; code=$?; [ $code -eq 0 ] || [ $code -eq 3 ]",
        ])
        .args([CARAVAN, "status", batch, "--no-queues", "--json"])
        .envs(garage.env.iter().map(|(k, v)| (k, v)));
    let answered = measure(status);
    let counted: serde_json::Value = serde_json::from_slice(&answered.stdout).unwrap();
    assert_eq!(
        counted["pending"].as_array().unwrap().len(),
        n,
        "status counts every submitted master as pending"
    );
    println!(
        "to Garage: {n} masters submitted in {:.2} s ({:.0} a second, peak RSS {:.0} MiB); \
         caravan status of that batch: {:.2} s, peak RSS {:.0} MiB",
        submitted.wall.as_secs_f64(),
        n as f64 / submitted.wall.as_secs_f64(),
        submitted.peak_rss_mib,
        answered.wall.as_secs_f64(),
        answered.peak_rss_mib,
    );
}

/// `count` files of `size` bytes under `dir` that sniff as PNG, their 1 MiB blocks unlike any
/// other file's or any other call's (`seed`): Garage stores a block it has seen once.
fn write_large(dir: &Path, count: usize, size: usize, seed: u64) -> Vec<PathBuf> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x08\0\0\0\x08\x08\x02\0\0\0";
    const BLOCK: usize = 1 << 20;
    let mut noise = vec![0u8; BLOCK];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut noise)
        .unwrap();
    noise[..PNG.len()].copy_from_slice(PNG);
    (0..count)
        .map(|i| {
            let path = dir.join(format!("reel-{i:02}.png"));
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
            let mut written = 0;
            for block in 0u64.. {
                if written >= size {
                    break;
                }
                let stamp = [seed, i as u64, block].map(u64::to_le_bytes).concat();
                noise[64..64 + stamp.len()].copy_from_slice(&stamp);
                let take = BLOCK.min(size - written);
                file.write_all(&noise[..take]).unwrap();
                written += take;
            }
            file.flush().unwrap();
            path
        })
        .collect()
}

fn large_uploads(work: &Path, garage: &Garage) {
    const COUNT: usize = 20;
    let size = ((200.0 * scale()) as usize).max(2) << 20;
    let dir = fresh(work, "large");
    let megabytes = (COUNT * size) as f64 / 1e6;
    println!(
        "{COUNT} masters of {} MiB to Garage on loopback ({megabytes:.0} MB)",
        size >> 20
    );
    println!("| upload | s | MB/s | ÷ ours (MB/s) |");
    println!("|---|---|---|---|");

    let files = write_large(&dir, COUNT, size, 1);
    let (submitted, summary) = submit_to_garage(&dir, garage, "large");
    assert_eq!(
        summary["pending"].as_array().unwrap().len(),
        COUNT,
        "every large master submitted"
    );
    let ours = submitted.wall.as_secs_f64();

    write_large(&dir, COUNT, size, 2);
    let started = Instant::now();
    garage.put_one_by_one(&files, "single-stream");
    let single = started.elapsed().as_secs_f64();

    write_large(&dir, COUNT, size, 3);
    let mut rclone = garage.rclone();
    rclone.args([
        "copy",
        dir.to_str().unwrap(),
        &format!("garage:{}/rclone", garage.bucket),
    ]);
    let copied = measure(rclone).wall.as_secs_f64();

    for (name, wall) in [
        ("caravan submit (hashing and publishing included)", ours),
        ("AWS SDK, one PutObject after another", single),
        ("rclone copy, its defaults", copied),
    ] {
        println!(
            "| {name} | {wall:.2} | {:.0} | {} |",
            megabytes / wall,
            common::ratio(megabytes / ours, megabytes / wall),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
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

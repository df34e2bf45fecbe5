//! Scaling out and the cost of one job (`cargo bench --bench scaling`; needs RabbitMQ on
//! 127.0.0.1:5672, as the tests do).
//!
//! 1. The same image batch (40 photographs of 3000×2000; `CARAVAN_BENCH_SCALE` scales the
//!    count and size) submitted to the broker, then worked through by one `caravan worker`
//!    pinned to core 0 and by two pinned to a core each (`taskset`; one slot each, the store a
//!    shared folder). Time from the workers' start to the last "Job done"; the throughput
//!    ratio is printed (target ≥ 1.8×). The reference is the one-worker run of the same batch.
//! 2. What a job costs, for deploy/README.md's sizing guide: `caravan run` on one core on a
//!    24 MP photograph and on 30 s of 1080p video, CPU seconds (user + system, pipeline
//!    children included) and peak RSS from `wait4`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fresh, measure, scale};

const CARAVAN: &str = env!("CARGO_BIN_EXE_caravan");

fn main() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let count = ((40.0 * scale()).round() as usize).max(4);
    let (w, h) = (
        ((3000.0 * scale()) as u32).max(64),
        ((2000.0 * scale()) as u32).max(48),
    );
    let batch = fresh(work.path(), "batch");
    for i in 0..count {
        caravan_testkit::ffmpeg::make(
            &[
                "-f",
                "lavfi",
                "-i",
                // A noise seed of its own: every master distinct (no duplicates).
                &format!("testsrc2=s={w}x{h}:r=1,noise=alls=12:allf=t:all_seed={i}"),
                "-frames:v",
                "1",
            ],
            &batch.join(format!("photo-{i:03}.png")),
        );
    }
    println!("batch: {count} PNG photographs of {w}×{h}");

    let one = through_workers(work.path(), &batch, count, &[0]);
    let two = through_workers(work.path(), &batch, count, &[0, 1]);
    println!();
    println!("| workers (one core each) | wall s | jobs a second | ÷ one worker (throughput) |");
    println!("|---|---|---|---|");
    for (n, wall) in [(1, one), (2, two)] {
        println!(
            "| {n} | {:.2} | {:.2} | {:.2}× |",
            wall.as_secs_f64(),
            count as f64 / wall.as_secs_f64(),
            one.as_secs_f64() / wall.as_secs_f64()
        );
    }
    println!(
        "scaling: two workers on two cores do {:.2}× the work of one (target ≥ 1.8×)",
        one.as_secs_f64() / two.as_secs_f64()
    );

    println!();
    job_costs(work.path());
}

/// Submits `batch` to a fresh queue prefix and store folder, then starts one worker per core in
/// `cores` and returns the time until all `count` jobs are done.
fn through_workers(work: &Path, batch: &Path, count: usize, cores: &[usize]) -> Duration {
    let prefix = format!("bench-scaling-{}-{}", cores.len(), std::process::id());
    let store = fresh(work, &prefix);
    let scratch = fresh(work, &format!("{prefix}-scratch"));
    let env = |command: &mut Command| {
        command
            .env("CARAVAN_QUEUE_PREFIX", &prefix)
            .env("CARAVAN_STORE_DIR", &store)
            .env("CARAVAN_LOG_FORMAT", "json");
    };
    let mut submit = Command::new(CARAVAN);
    submit.args(["submit", batch.to_str().unwrap(), "--no-wait", "--json"]);
    env(&mut submit);
    let submitted = submit.output().expect("caravan submit runs");
    assert!(
        submitted.status.success(),
        "caravan submit (is RabbitMQ running?): {}",
        String::from_utf8_lossy(&submitted.stderr)
    );

    let started = Instant::now();
    let mut workers: Vec<(Child, PathBuf)> = cores
        .iter()
        .map(|core| {
            let log = work.join(format!("{prefix}-worker-{core}.log"));
            let mut command = Command::new("taskset");
            command
                .args(["-c", &core.to_string(), CARAVAN, "worker", "--slots", "1"])
                .env("CARAVAN_SCRATCH_DIR", scratch.join(core.to_string()))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap());
            env(&mut command);
            (command.spawn().expect("taskset runs caravan worker"), log)
        })
        .collect();
    loop {
        let done: usize = workers
            .iter()
            .map(|(_, log)| {
                std::fs::read_to_string(log)
                    .unwrap_or_default()
                    .matches("\"Job done\"")
                    .count()
            })
            .sum();
        if done >= count {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "{done} of {count} done after an hour"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = started.elapsed();
    for (child, _) in &mut workers {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    caravan_testkit::broker::remove_topology(&prefix);
    wall
}

/// CPU seconds and peak RSS of one job on one core, per megapixel and per minute of video.
fn job_costs(work: &Path) {
    let (w, h) = (
        ((6000.0 * scale()) as u32).max(64),
        ((4000.0 * scale()) as u32).max(48),
    );
    let photo = fresh(work, "cost-photo");
    caravan_testkit::ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s={w}x{h}:r=1,noise=alls=8:allf=t"),
            "-frames:v",
            "1",
            "-pix_fmt",
            "rgb48le",
        ],
        &photo.join("scan.tif"),
    );
    let seconds = (30.0 * scale()).max(1.0);
    let video = fresh(work, "cost-video");
    caravan_testkit::ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s=1920x1080:r=25:d={seconds:.2},noise=alls=6:allf=t"),
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=48000:d={seconds:.2}"),
            "-c:v",
            "ffv1",
            "-c:a",
            "pcm_s16le",
        ],
        &video.join("reel.mkv"),
    );
    let run = |dir: &Path| {
        let out = work.join(format!(
            "{}-out",
            dir.file_name().unwrap().to_string_lossy()
        ));
        let mut command = Command::new("taskset");
        command
            .args([
                "-c",
                "0",
                CARAVAN,
                "run",
                dir.to_str().unwrap(),
                "--workers",
                "1",
                "--out",
            ])
            .arg(out)
            .env("CARAVAN_LOG", "warn");
        measure(command)
    };
    let image = run(&photo);
    let reel = run(&video);
    let megapixels = f64::from(w) * f64::from(h) / 1e6;
    println!("| one job, one core (`caravan run`, default profile) | CPU s | peak RSS MiB | CPU s per unit |");
    println!("|---|---|---|---|");
    println!(
        "| {w}×{h} 16-bit TIFF ({megapixels:.1} MP): access set, thumbnail, IIIF tiles | {:.2} | {:.0} | {:.3} per MP |",
        image.cpu.as_secs_f64(),
        image.peak_rss_mib,
        image.cpu.as_secs_f64() / megapixels
    );
    println!(
        "| {seconds:.0} s 1080p25 FFV1 with sound: access MP4, poster, storyboard | {:.2} | {:.0} | {:.1} per minute |",
        reel.cpu.as_secs_f64(),
        reel.peak_rss_mib,
        reel.cpu.as_secs_f64() / seconds * 60.0
    );
}

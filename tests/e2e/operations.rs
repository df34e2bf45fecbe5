//! What operators watch: each worker's `/metrics` (Prometheus text, checked by `promtool`)
//! adding up to the batch's results, `/readyz` turning unready at once on SIGTERM while a long
//! job drains, and `caravan status` showing the queues and the time left.

use std::time::{Duration, Instant};

use caravan_testkit::ffmpeg;

use crate::common::probe::*;
use crate::common::*;

/// Waits until `/readyz` on `addr` answers 200.
fn wait_ready(addr: &str) {
    let started = Instant::now();
    while readyz(addr) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{addr}/readyz never answered 200: {:?}",
            get(addr, "/readyz")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_metrics_add_up_to_the_batch_results() {
    let mut cluster = Cluster::new("e2e-metrics", garage_env().clone(), &[]).await;
    let addrs = [free_addr(), free_addr()];
    for addr in &addrs {
        cluster.start_worker(&[("CARAVAN_METRICS_ADDR", addr)]);
        wait_ready(addr);
    }
    let submitted = cluster.submit(sample_batch(), &["--no-wait"]);
    let batch = submitted["batch_id"].as_str().unwrap().to_owned();

    // While the batch runs: every scrape passes promtool, and `caravan status` (the S3 store:
    // a cluster) shows both workers consuming each kind's queue and a time left once assets
    // finish.
    let started = Instant::now();
    let (mut scrapes_during, mut saw_eta) = (0, false);
    let status = loop {
        let status = cluster.status(&batch);
        if status["pending"].as_array().unwrap().is_empty() {
            break status;
        }
        for addr in &addrs {
            scrape(addr);
            scrapes_during += 1;
        }
        let queues = status["queues"]
            .as_array()
            .expect("status shows the queues");
        for kind in ["image", "video"] {
            let queue = queues.iter().find(|q| q["kind"] == kind).unwrap();
            assert_eq!(queue["queue"], format!("{}.jobs.{kind}", cluster.prefix));
            assert_eq!(queue["consumers"], 2, "{status:#}");
        }
        let progress = &status["progress"];
        assert_eq!(
            progress["finished_in_window"],
            status["done"].as_array().unwrap().len(),
            "{status:#}"
        );
        saw_eta |= progress["eta_seconds"].as_u64().is_some();
        assert!(started.elapsed() < Duration::from_secs(600), "{status:#}");
        std::thread::sleep(Duration::from_millis(300));
    };
    check_first_run(&status);
    assert!(scrapes_during > 0, "the batch ended before a scrape");

    // After: the counters of both workers, summed, are the batch's results. The sample batch
    // holds 20 images and 2 videos (under video/) and one truncated JPEG.
    let scrapes: Vec<String> = addrs.iter().map(|a| scrape(a)).collect();
    let done = names(&status, "done");
    let videos = done.iter().filter(|n| n.starts_with("video/")).count();
    assert_eq!((done.len() - videos, videos), (20, 2));
    let succeeded = summed(&scrapes, "caravan_jobs_succeeded_total");
    assert_eq!(succeeded.get("kind=image"), Some(&20.0), "{succeeded:?}");
    assert_eq!(succeeded.get("kind=video"), Some(&2.0), "{succeeded:?}");
    let failed: Vec<_> = summed(&scrapes, "caravan_jobs_failed_total")
        .into_iter()
        .filter(|(_, v)| *v > 0.0)
        .collect();
    assert_eq!(
        failed,
        vec![("code=undecodable_input,kind=image".to_owned(), 1.0)]
    );
    let started_jobs = summed(&scrapes, "caravan_jobs_started_total");
    assert_eq!(started_jobs.get("kind=image"), Some(&21.0));
    assert_eq!(started_jobs.get("kind=video"), Some(&2.0));
    // Both workers took jobs; none is in flight now; the histogram counted every job.
    for text in &scrapes {
        let mine = samples(text, "caravan_jobs_started_total");
        assert!(mine.values().sum::<f64>() > 0.0, "{text}");
        assert_eq!(samples(text, "caravan_jobs_in_flight").get(""), Some(&0.0));
    }
    let timed = summed(&scrapes, "caravan_job_duration_seconds_count");
    assert_eq!(timed.values().sum::<f64>(), 23.0, "{timed:?}");
    let written = summed(&scrapes, "caravan_written_bytes_total");
    assert!(written.get("").copied().unwrap_or(0.0) > 0.0);
    assert!(
        scrapes_during > 0 && (saw_eta || started.elapsed() < Duration::from_secs(2)),
        "status never gave a time left while assets were pending"
    );
    cluster.stop_workers();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_unready_at_once_on_sigterm_while_a_long_job_drains() {
    let mut cluster = Cluster::new("e2e-readyz", garage_env().clone(), &[]).await;
    let addr = free_addr();
    cluster.start_worker(&[
        ("CARAVAN_METRICS_ADDR", &addr),
        ("CARAVAN_SLOTS", "1"),
        ("CARAVAN_SHUTDOWN_GRACE", "120"),
    ]);
    wait_ready(&addr);
    assert_eq!(get(&addr, "/healthz").map(|(c, _)| c), Some(200));

    // One long master: 40 s of 720p, so the job is still running when SIGTERM comes.
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("long.mp4");
    ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=25:duration=40",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "35",
            "-pix_fmt",
            "yuv420p",
        ],
        &master,
    );
    let submitted = cluster.submit(dir.path(), &["--no-wait"]);
    let started = Instant::now();
    while samples(&scrape(&addr), "caravan_jobs_in_flight").get("") != Some(&1.0) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the job never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let pid = cluster.pid(0).to_string();
    let term = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut answers = Vec::new();
    let unready_after = loop {
        let code = readyz(&addr);
        answers.push(code);
        if code == Some(503) {
            break term.elapsed();
        }
        assert!(
            term.elapsed() < Duration::from_secs(5),
            "/readyz still answers {answers:?} 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        unready_after < Duration::from_secs(1),
        "/readyz turned unready {unready_after:?} after SIGTERM"
    );
    // Still alive and draining: the job runs on, /healthz answers, /readyz says why.
    let metrics = scrape(&addr);
    assert_eq!(
        samples(&metrics, "caravan_jobs_in_flight").get(""),
        Some(&1.0)
    );
    assert_eq!(samples(&metrics, "caravan_ready").get(""), Some(&0.0));
    assert_eq!(get(&addr, "/healthz").map(|(c, _)| c), Some(200));
    let (code, body) = get(&addr, "/readyz").unwrap();
    assert_eq!(code, 503);
    assert!(body.contains("draining"), "{body}");

    // The job finishes within the grace and the worker exits 0 with it done.
    let status = cluster.wait_exit(0, Duration::from_secs(180));
    assert!(status.success());
    let batch = submitted["batch_id"].as_str().unwrap();
    let status = cluster.run_json(&["status", batch, "--json", "--no-queues"]);
    assert_eq!(
        names(&status, "done"),
        vec!["long.mp4".to_owned()],
        "{status:#}"
    );
}

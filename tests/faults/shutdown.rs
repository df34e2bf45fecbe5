//! SIGTERM while a long job runs: it finishes within the grace, or is handed back after it.

use std::path::Path;
use std::time::{Duration, Instant};

use caravan_testkit::files::sha256_file;

use crate::{fault_cluster, image_batch, long_video, pgrep_exec_jobs, tally, ONE_AT_A_TIME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row2_sigterm_during_a_long_job() {
    let _one = ONE_AT_A_TIME.lock().await;
    for (grace, expect_finish) in [("120", true), ("2", false)] {
        let mut cluster = fault_cluster(
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
        let log = cluster.log_of(0);
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
        let t = tally(
            &cluster,
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
    sha256_file(&dir.join("long-720p.mp4"))
}

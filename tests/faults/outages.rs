//! The services go away: RabbitMQ restarted while publishing and processing, the S3 server
//! stopped for 35 s mid-batch. In both, one worker's `/readyz` must say unready while the
//! service is away and ready again after.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::probe::{free_addr, readyz};
use crate::common::*;

/// Polls `/readyz` on `addr` for `how_long`; whether it answered 503 at some point.
fn unready_within(addr: &str, how_long: Duration) -> bool {
    let started = Instant::now();
    let mut unready = false;
    while started.elapsed() < how_long {
        unready |= readyz(addr) == Some(503);
        std::thread::sleep(Duration::from_millis(100));
    }
    unready
}

/// Seconds until `/readyz` on `addr` answers 200 again (at most 120 s).
fn ready_again(addr: &str) -> f64 {
    let started = Instant::now();
    while readyz(addr) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "/readyz did not come back within 120 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed().as_secs_f64()
}
use crate::{fault_cluster, garage, image_batch, tally, ONE_AT_A_TIME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row3_restart_rabbitmq_during_publishing_and_processing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = fault_cluster("3-broker-restart", &[]).await;
    let batch = image_batch(200, (640, 480));
    let probe = free_addr();
    cluster.start_worker(&[("CARAVAN_METRICS_ADDR", &probe)]);
    cluster.start_worker(&[]);
    ready_again(&probe);
    let envs = cluster.envs.clone();
    let dir = batch.path().to_owned();
    let submit =
        std::thread::spawn(move || run_json(&["submit", dir.to_str().unwrap(), "--json"], &envs));
    std::thread::sleep(Duration::from_millis(2500));
    let fault_at = chrono::Utc::now();
    let stop = Command::new("rabbitmqctl")
        .args(["-q", "stop_app"])
        .status()
        .unwrap();
    let unready = unready_within(&probe, Duration::from_secs(3));
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
    let back_after = ready_again(&probe);
    assert!(unready, "/readyz stayed ready while the broker was stopped");
    let summary = submit.join().unwrap();
    // The fault overlapped the work: jobs were running when the broker stopped, and the
    // workers lost their consumers and came back.
    let in_flight = cluster.in_flight_at(fault_at);
    let done_before = cluster.records_before("Job done", fault_at);
    let reconnects = cluster
        .records_of("Lost the job stream; reconnecting")
        .len()
        + cluster.records_of("Cannot consume; reconnecting").len();
    let t = tally(
        &cluster,
        summary["batch_id"].as_str().unwrap(),
        &format!("stop_app/start_app 2.5 s in: {done_before} done and {in_flight} in flight at the stop, {reconnects} reconnects; /readyz 503 while stopped, 200 again {back_after:.1} s after the restart"),
    )
    .await;
    assert!(in_flight > 0, "no job was running when the broker stopped");
    assert!(done_before < 200, "the batch was over before the fault");
    assert!(
        reconnects >= 2,
        "the workers did not reconnect ({reconnects})"
    );
    assert_eq!(t.receipts, 200, "{t:?}");
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row4_stop_the_s3_server_mid_batch() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = fault_cluster("4-s3-outage-35s", &[("CARAVAN_MAX_ATTEMPTS", "12")]).await;
    let batch = image_batch(60, (1600, 1200));
    let probe = free_addr();
    cluster.start_worker(&[("CARAVAN_METRICS_ADDR", &probe)]);
    cluster.start_worker(&[]);
    ready_again(&probe);
    let summary = cluster.submit(batch.path(), &["--no-wait"]);
    let batch_id = summary["batch_id"].as_str().unwrap().to_owned();
    // Halt once jobs are running (a fixed pause met none when the workers were slow to start).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while cluster.log_lines("Job started") < cluster.log_lines("Job done") + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no job started within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let fault_at = chrono::Utc::now();
    garage("halt");
    let unready = unready_within(&probe, Duration::from_secs(35));
    garage("start");
    let back_after = ready_again(&probe);
    assert!(
        unready,
        "/readyz stayed ready while the S3 server was stopped"
    );
    cluster.wait_for(&batch_id, Duration::from_secs(300));
    let retried = cluster.records_of("Transient failure; will retry").len();
    let in_flight = cluster.in_flight_at(fault_at);
    let t = tally(
        &cluster,
        &batch_id,
        &format!("{in_flight} in flight at the halt, {retried} transient failures retried; /readyz 503 while stopped, 200 again {back_after:.1} s after"),
    )
    .await;
    assert!(
        in_flight > 0,
        "no job was running when the S3 server stopped"
    );
    assert!(
        retried > 0,
        "no job met the outage (no transient failure was retried)"
    );
    assert_eq!(t.receipts, 60, "{t:?}");
    t.assert_clean();
}

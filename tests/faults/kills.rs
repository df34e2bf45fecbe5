//! Workers killed: `kill -9` mid-batch, a death between outputs and receipt, a job that kills
//! every worker it reaches (dead-lettered by the broker's delivery limit).

use std::time::{Duration, Instant};

use caravan_testkit::files::files_below;

use crate::common::*;
use crate::{fault_cluster, image_batch, tally, ONE_AT_A_TIME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row1_kill_9_workers_repeatedly_mid_batch() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = fault_cluster("1-kill-9", &[("CARAVAN_DELIVERY_LIMIT", "100")]).await;
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
    let t = tally(
        &cluster,
        summary["batch_id"].as_str().unwrap(),
        &format!("{kills} kill -9"),
    )
    .await;
    assert!(
        kills >= 20,
        "only {kills} kills happened; the batch finished too fast"
    );
    // Killed workers' scratch was cleaned by their successors; live workers hold none.
    let leftovers = files_below(cluster.scratch.path());
    assert!(leftovers.is_empty(), "scratch left behind: {leftovers:?}");
    assert_eq!(t.receipts, 200, "{t:?}");
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row5_worker_dies_after_outputs_before_receipt() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = fault_cluster("5-die-before-receipt", &[]).await;
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
    let t = tally(
        &cluster,
        &batch_id,
        "worker aborted between outputs and receipt",
    )
    .await;
    assert_eq!(t.receipts, 5, "{t:?}");
    t.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row5b_poison_job_reaches_the_dead_letter_queue() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = fault_cluster(
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
    let t = tally(
        &cluster,
        &batch_id,
        &format!("worker died {deaths} times; status: delivery_limit_exceeded"),
    )
    .await;
    assert_eq!(t.failed, 1);
    assert_eq!(t.dead_letters, 1);
    t.assert_clean();
}

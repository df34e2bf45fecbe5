//! The same job delivered twice at once: the work is done once.

use std::time::{Duration, Instant};

use caravan_proto::{keys, BatchId, Disposition, ProfileName};

use crate::common::Cluster;
use crate::{fault_cluster, image_batch, tally, ONE_AT_A_TIME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row6_same_job_published_twice_concurrently() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = fault_cluster("6-double-publish", &[]).await;
    let batch = image_batch(1, (4000, 3000));
    // Submit (publishes once) and publish the very same job again before any worker runs; then
    // two one-slot workers each take one of the two deliveries at once.
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
    let batch = BatchId::parse(&batch_id).unwrap();
    let index = caravan_scheduler::index::load(&cluster.store, &batch)
        .await
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
        subtitles: Vec::new(),
    };
    queue.publish_job(&job).await.unwrap();
    cluster.start_worker(&[("CARAVAN_SLOTS", "1")]);
    cluster.start_worker(&[("CARAVAN_SLOTS", "1")]);
    cluster.wait_for(&batch_id, Duration::from_secs(60));
    // Both deliveries settle: one did the work, the other met its lease while the work was
    // going on (the two ran at once) and was acknowledged without work.
    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = |c: &Cluster| {
        [
            "Job done",
            "Another delivery committed this asset; acknowledging without work",
            "Another worker committed this asset first; its receipt stands",
            "Receipt exists; acknowledging without work",
        ]
        .iter()
        .map(|m| c.records_of(m).len())
        .sum::<usize>()
    };
    while settled(&cluster) < 2 {
        assert!(Instant::now() < deadline, "a delivery was never settled");
        std::thread::sleep(Duration::from_millis(200));
    }
    let waited = cluster
        .records_of("Another worker holds this asset; waiting for its receipt")
        .len();
    let t = tally(
        &cluster,
        &batch_id,
        &format!("2 deliveries at once, one waited on the lease ({waited} polls), 1 did the work"),
    )
    .await;
    t.assert_clean();
    assert_eq!(t.receipts, 1);
    assert_eq!(cluster.commits().get(asset.as_str()), Some(&1));
    assert!(
        waited > 0,
        "the second delivery never met the first one's lease"
    );
}

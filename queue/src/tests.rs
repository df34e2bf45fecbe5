use super::*;
use caravan_proto::{AssetId, EventBody, MasterLocation, ProfileName};

fn job(kind: JobKind, n: u8) -> Job {
    let asset = AssetId::parse(format!("{n:064x}")).unwrap();
    Job {
        v: caravan_proto::PROTO_VERSION,
        job_id: uuid::Uuid::from_u128(u128::from(n)),
        batch_id: BatchId::parse("batch").unwrap(),
        master: MasterLocation::Store {
            key: caravan_proto::keys::master(&asset),
        },
        asset_id: asset,
        master_size: 1,
        media_type: "image/png".into(),
        kind,
        profile: ProfileName::default_profile(),
        attempt: 1,
        source_name: None,
        submitted_at: Default::default(),
        metadata: Default::default(),
        subtitles: Vec::new(),
    }
}

#[tokio::test]
async fn memory_queue_delivers_by_kind_and_redelivers_unsettled_jobs() {
    let mq = MemoryQueue::new();
    let queue = Queue::Memory(mq.clone());
    queue.publish_job(&job(JobKind::Video, 1)).await.unwrap();
    queue.publish_job(&job(JobKind::Image, 2)).await.unwrap();

    let mut images = queue.consume_jobs(&[JobKind::Image], 1).await.unwrap();
    let first = images.next().await.unwrap().unwrap();
    assert_eq!(first.job.as_ref().unwrap().kind, JobKind::Image);
    assert_eq!(first.previous_deliveries, 0);
    // A consumer that dies without settling hands the job back, counted as delivered once.
    drop(first);
    let again = images.next().await.unwrap().unwrap();
    assert_eq!(again.previous_deliveries, 1);
    again.handle.dead_letter().await.unwrap();
    assert_eq!(mq.dead_letters().len(), 1);

    let mut videos = queue.consume_jobs(&[JobKind::Video], 1).await.unwrap();
    let video = videos.next().await.unwrap().unwrap();
    video.handle.ack().await.unwrap();
    assert_eq!(mq.ready_len(), 0);
    let acked: Vec<_> = mq.acked().iter().map(|j| j.kind).collect();
    assert_eq!(acked, vec![JobKind::Video]);

    mq.close();
    assert!(images.next().await.is_none());
}

#[tokio::test]
async fn memory_queue_wakes_a_waiting_consumer() {
    let mq = MemoryQueue::new();
    let queue = Queue::Memory(mq.clone());
    let mut stream = queue.consume_jobs(&JobKind::ALL, 1).await.unwrap();
    let waiter =
        tokio::spawn(async move { stream.next().await.map(|d| d.unwrap().job.unwrap().job_id) });
    tokio::task::yield_now().await;
    queue.publish_job(&job(JobKind::Image, 9)).await.unwrap();
    assert_eq!(waiter.await.unwrap(), Some(uuid::Uuid::from_u128(9)));
}

#[tokio::test]
async fn memory_events_reach_only_their_batch() {
    let queue = Queue::Memory(MemoryQueue::new());
    let batch = BatchId::parse("batch").unwrap();
    let mut events = queue.subscribe_events(&batch).await.unwrap();
    let j = job(JobKind::Image, 3);
    let event = |batch_id: &str| JobEvent {
        v: 1,
        job_id: j.job_id,
        batch_id: BatchId::parse(batch_id).unwrap(),
        asset_id: j.asset_id.clone(),
        worker: "w".into(),
        at: Default::default(),
        body: EventBody::Progress { percent: 50.0 },
    };
    queue.publish_event(&event("other")).await.unwrap();
    queue.publish_event(&event("batch")).await.unwrap();
    let got = events.next().await.unwrap().unwrap();
    assert_eq!(got.batch_id.as_str(), "batch");
}

#[test]
fn broker_urls_are_redacted_for_logs() {
    assert_eq!(
        amqp::redact_url("amqp://guest:s3cret@127.0.0.1:5672/%2f"),
        "amqp://guest:***@127.0.0.1:5672/%2f"
    );
    assert_eq!(
        amqp::redact_url("amqp://127.0.0.1:5672"),
        "amqp://127.0.0.1:5672"
    );
    let config = AmqpConfig {
        url: "amqp://u:p4ss@h/".into(),
        topology: caravan_proto::Topology::default(),
        delivery_limit: 5,
        consumer_timeout_ms: 1000,
        connection_name: "t".into(),
    };
    assert!(!format!("{config:?}").contains("p4ss"));
}

fn log_request(n: u8) -> LogRequest {
    LogRequest {
        v: caravan_proto::PROTO_VERSION,
        receipt_key: format!("receipts/{n:064x}/default.json"),
        receipt_sha256: format!("{n:064x}"),
        signature_sha256: format!("{:064x}", n + 1),
    }
}

#[tokio::test]
async fn memory_log_requests_are_redelivered_unless_acked_and_end_when_closed_and_drained() {
    let mq = MemoryQueue::new();
    let queue = Queue::Memory(mq.clone());
    queue.publish_log_request(&log_request(1)).await.unwrap();
    queue.publish_log_request(&log_request(2)).await.unwrap();
    let mut stream = queue.consume_log_requests(16).await.unwrap();

    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.request.as_ref().unwrap(), &log_request(1));
    // A sequencer that dies without settling hands the request back, first in line.
    drop(first);
    let again = stream.next().await.unwrap().unwrap();
    assert_eq!(again.request.as_ref().unwrap(), &log_request(1));
    again.handle.ack().await.unwrap();

    mq.close();
    // Closed, but a request is still waiting: the sequencer gets it before the end.
    assert!(queue.publish_log_request(&log_request(3)).await.is_err());
    let last = stream.next().await.unwrap().unwrap();
    assert_eq!(last.request.as_ref().unwrap(), &log_request(2));
    last.handle.ack().await.unwrap();
    assert!(stream.next().await.is_none());
    assert_eq!(mq.log_len(), 0);
}

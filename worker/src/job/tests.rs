use std::time::Duration;

use caravan_proto::{keys, AssetId, BatchId, Job, JobKind, MasterLocation, ProfileName, Receipt};
use caravan_queue::{MemoryQueue, Queue};
use caravan_store::{LocalStore, Store};
use caravan_testkit::files::files_below;
use caravan_testkit::images::jpeg_frame_marker;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::{Isolation, Worker, WorkerConfig};

fn job_for(path: &std::path::Path, kind: JobKind, media_type: &str) -> Job {
    let bytes = std::fs::read(path).unwrap();
    Job {
        v: caravan_proto::PROTO_VERSION,
        job_id: uuid_like(&bytes),
        batch_id: BatchId::parse("unit").unwrap(),
        asset_id: AssetId::parse(hex::encode(Sha256::digest(&bytes))).unwrap(),
        master: MasterLocation::LocalPath {
            path: path.to_owned(),
        },
        master_size: bytes.len() as u64,
        media_type: media_type.into(),
        kind,
        profile: ProfileName::default_profile(),
        attempt: 1,
        source_name: None,
        submitted_at: chrono::Utc::now(),
        metadata: Default::default(),
        subtitles: Vec::new(),
    }
}

fn uuid_like(bytes: &[u8]) -> uuid::Uuid {
    uuid::Uuid::from_slice(&Sha256::digest(bytes)[..16]).unwrap()
}

/// Runs an in-process worker over `jobs` until every one ended (a receipt or a failure record)
/// and its delivery was settled (acknowledged or dead-lettered); fails the test if that takes
/// more than a minute, or if anything is left in the scratch folder at any depth.
async fn run_jobs(store: &Store, jobs: &[Job]) -> MemoryQueue {
    let mq = MemoryQueue::new();
    let queue = Queue::Memory(mq.clone());
    for job in jobs {
        queue.publish_job(job).await.unwrap();
    }
    let scratch = tempfile::tempdir().unwrap();
    let mut config = WorkerConfig::new(Isolation::InProcess);
    config.slots = 2;
    config.scratch_dir = scratch.path().to_owned();
    config.retry_base_delay = Duration::from_millis(10);
    let worker = Worker::new(store.clone(), queue.clone(), config);
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(worker.run(cancel.clone()));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut ended = 0;
        for job in jobs {
            let receipt = store
                .size_of(&keys::receipt(&job.asset_id, &job.profile))
                .await
                .unwrap();
            let failure = store
                .size_of(&keys::failure(&job.asset_id, &job.profile))
                .await
                .unwrap();
            if receipt.is_some() || failure.is_some() {
                ended += 1;
            }
        }
        let settled = mq.acked().len() + mq.dead_letters().len();
        if ended == jobs.len() && settled == jobs.len() && mq.ready_len() == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after 60 s: {ended} of {} jobs ended, {settled} deliveries settled",
            jobs.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    mq.close();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let left = files_below(scratch.path());
    assert!(left.is_empty(), "scratch files left behind: {left:?}");
    // Only the worker's own (now empty) folder may remain: no job folder at any level.
    for entry in std::fs::read_dir(scratch.path()).unwrap().flatten() {
        let inside: Vec<_> = std::fs::read_dir(entry.path()).unwrap().flatten().collect();
        assert!(inside.is_empty(), "scratch folders left behind: {inside:?}");
    }
    mq
}

/// The ids of the jobs whose deliveries `mq` acknowledged.
fn acked_ids(mq: &MemoryQueue) -> Vec<uuid::Uuid> {
    mq.acked().iter().map(|j| j.job_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_job_stores_outputs_then_a_receipt_that_matches_them() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("master.png");
    image::RgbImage::from_fn(3000, 1500, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    })
    .save(&master)
    .unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let job = job_for(&master, JobKind::Image, "image/png");

    let mq = run_jobs(&store, std::slice::from_ref(&job)).await;
    assert_eq!(
        acked_ids(&mq),
        vec![job.job_id],
        "the delivery is acknowledged"
    );

    let receipt: Receipt = serde_json::from_slice(
        &store
            .get_bytes(&keys::receipt(&job.asset_id, &job.profile))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(receipt.asset_id, job.asset_id);
    assert_eq!(receipt.tools["caravan"], env!("CARGO_PKG_VERSION"));
    let dims: Vec<_> = receipt
        .outputs
        .iter()
        .filter(|o| !o.name.as_str().starts_with("iiif/"))
        .map(|o| (o.name.as_str().to_owned(), o.width, o.height))
        .collect();
    assert!(
        receipt
            .outputs
            .iter()
            .any(|o| o.name.as_str() == "iiif/info.json"),
        "IIIF tiles are listed too"
    );
    assert_eq!(
        dims,
        vec![
            ("access.jpg".into(), Some(2048), Some(1024)),
            ("access.webp".into(), Some(2048), Some(1024)),
            ("access-1024.jpg".into(), Some(1024), Some(512)),
            ("access-1024.webp".into(), Some(1024), Some(512)),
            ("thumb.jpg".into(), Some(256), Some(128)),
            // The IIIF manifest, made from the others, comes last.
            ("manifest.json".into(), None, None)
        ]
    );
    for output in &receipt.outputs {
        let path = match &store {
            Store::Local(s) => s.path_of(&output.key).unwrap(),
            Store::S3(_) => unreachable!(),
        };
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, output.size);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), output.sha256);
        if !output.media_type.starts_with("image/") {
            continue;
        }
        let is_tile = output.name.as_str().starts_with("iiif/");
        if output.media_type == "image/jpeg" {
            // SOF2 is the progressive frame header: access copies load coarse-to-fine, tiles
            // are baseline (SOF0).
            let sof = if is_tile { 0xC0 } else { 0xC2 };
            assert_eq!(jpeg_frame_marker(&bytes), sof, "{}", output.name);
            assert!(
                bytes.windows(12).any(|m| m == b"ICC_PROFILE\0"),
                "{} carries the sRGB profile",
                output.name
            );
        }
        let decoded = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (Some(decoded.width()), Some(decoded.height())),
            (output.width, output.height)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_master_fails_permanently_with_a_reason_and_others_still_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.jpg");
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    bytes.extend_from_slice(b"JFIF\0 this is not really a jpeg");
    std::fs::write(&corrupt, &bytes).unwrap();
    let good = dir.path().join("good.png");
    image::RgbImage::new(10, 20).save(&good).unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let bad_job = job_for(&corrupt, JobKind::Image, "image/jpeg");
    let good_job = job_for(&good, JobKind::Image, "image/png");

    let mq = run_jobs(&store, &[bad_job.clone(), good_job.clone()]).await;

    let failure: caravan_proto::FailureRecord = serde_json::from_slice(
        &store
            .get_bytes(&keys::failure(&bad_job.asset_id, &bad_job.profile))
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(failure.code, "undecodable_input");
    assert!(failure.message.contains("corrupt"), "{}", failure.message);
    assert_eq!(mq.dead_letters().len(), 1);
    assert_eq!(mq.dead_letters()[0].job_id, bad_job.job_id);
    assert_eq!(acked_ids(&mq), vec![good_job.job_id]);
    assert!(store
        .size_of(&keys::receipt(&good_job.asset_id, &good_job.profile))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_receipt_exists_is_acknowledged_without_work() {
    let dir = tempfile::tempdir().unwrap();
    let master = dir.path().join("m.png");
    image::RgbImage::new(8, 8).save(&master).unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let job = job_for(&master, JobKind::Image, "image/png");
    let key = keys::receipt(&job.asset_id, &job.profile);
    store
        .put_bytes(&key, b"{}".to_vec(), "application/json")
        .await
        .unwrap();
    let mq = run_jobs(&store, std::slice::from_ref(&job)).await;
    assert_eq!(
        acked_ids(&mq),
        vec![job.job_id],
        "acknowledged without work"
    );
    // Untouched: no pipeline ran, so no derivative exists and the receipt is as it was.
    assert_eq!(store.get_bytes(&key).await.unwrap().unwrap(), b"{}");
    let output = keys::derivative(
        &job.asset_id,
        &job.profile,
        &caravan_proto::OutputName::parse("access.jpg").unwrap(),
    );
    assert_eq!(store.size_of(&output).await.unwrap(), None);
}

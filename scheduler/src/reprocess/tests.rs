use caravan_proto::{
    keys, AssetId, AssetMetadata, BatchEntry, BatchId, BatchIndex, Disposition, JobKind,
    MasterLocation, ProfileName,
};
use caravan_queue::{MemoryQueue, Queue};
use caravan_store::{LocalStore, Store};

use crate::reprocess::{reprocess, MASTER_UNAVAILABLE};
use crate::{MasterMode, SubmitOptions};

fn asset(byte: char) -> AssetId {
    AssetId::parse(byte.to_string().repeat(64)).unwrap()
}

fn entry(name: &str, asset: &AssetId, size: u64) -> BatchEntry {
    BatchEntry {
        source_name: name.into(),
        asset_id: Some(asset.clone()),
        kind: Some(JobKind::Image),
        media_type: Some("image/png".into()),
        size,
        modified: None,
        disposition: Disposition::Queued {
            job_id: uuid::Uuid::new_v4(),
        },
    }
}

fn options(masters: MasterMode) -> SubmitOptions {
    SubmitOptions {
        profile: ProfileName::parse("exhibition-th").unwrap(),
        masters,
        wait: false,
        progress: false,
        retry_failed: false,
        language: None,
        uploads: crate::submit::DEFAULT_UPLOADS,
        resume: None,
        resume_unfinished: false,
        stop: Default::default(),
    }
}

/// A store whose one batch, submitted from `folder`, holds `in_place.png` (still there),
/// `in_store.png` (uploaded to masters/), `gone.png` (neither) and `done.png` (already
/// processed with the exhibition's profile).
async fn earlier_batch(store: &Store, folder: &std::path::Path) -> [AssetId; 4] {
    let [in_place, in_store, gone, done] = [asset('a'), asset('b'), asset('c'), asset('d')];
    std::fs::write(folder.join("in_place.png"), b"twelve bytes").unwrap();
    store
        .put_bytes(&keys::master(&in_store), b"five!".to_vec(), "image/png")
        .await
        .unwrap();
    let default = ProfileName::parse("default").unwrap();
    let mut receipt: serde_json::Value = serde_json::json!({
        "asset_id": in_place, "kind": "image", "master_size": 12, "master_media_type": "image/png",
        "profile": "default", "outputs": [], "parameters": caravan_proto::Profile::default(),
        "metadata": { "title": "ช้าง", "language": "th" },
        "tools": {}, "job_id": uuid::Uuid::new_v4(),
        "started_at": "2026-12-01T00:00:00Z", "finished_at": "2026-12-01T00:00:01Z",
    });
    let bytes = serde_json::to_vec(&receipt).unwrap();
    (store.put_bytes(
        &keys::receipt(&in_place, &default),
        bytes,
        "application/json",
    ))
    .await
    .unwrap();
    receipt["asset_id"] = serde_json::json!(done);
    receipt["profile"] = serde_json::json!("exhibition-th");
    let th = ProfileName::parse("exhibition-th").unwrap();
    let bytes = serde_json::to_vec(&receipt).unwrap();
    (store.put_bytes(&keys::receipt(&done, &th), bytes, "application/json"))
        .await
        .unwrap();
    let index = BatchIndex {
        v: caravan_proto::PROTO_VERSION,
        batch_id: BatchId::generate(),
        source: folder.display().to_string(),
        profile: default,
        created_at: chrono::Utc::now(),
        entries: vec![
            entry("in_place.png", &in_place, 12),
            entry("in_store.png", &in_store, 5),
            entry("gone.png", &gone, 7),
            entry("done.png", &done, 3),
        ],
    };
    let bytes = serde_json::to_vec(&index).unwrap();
    (store.put_bytes(&keys::batch(&index.batch_id), bytes, "application/json"))
        .await
        .unwrap();
    [in_place, in_store, gone, done]
}

#[tokio::test]
async fn earlier_masters_are_found_where_their_submission_left_them() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("masters");
    std::fs::create_dir(&folder).unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let assets = earlier_batch(&store, &folder).await;
    let [in_place, in_store, gone, _] = assets.clone();
    let memory = MemoryQueue::new();
    let queue = Queue::Memory(memory.clone());
    let described = "exhibition silk-threads, site bangkok";
    let summary = reprocess(
        &store,
        &queue,
        &assets,
        described,
        &options(MasterMode::InPlace),
    )
    .await
    .unwrap();
    assert_eq!(summary.profile, "exhibition-th");
    assert_eq!(summary.source, described);
    assert_eq!(summary.pending.len(), 2, "{summary:?}");
    assert_eq!(summary.already_done.len(), 1);
    assert_eq!(summary.already_done[0].source_name, "done.png");
    assert_eq!(summary.rejected.len(), 1);
    let problem = &summary.rejected[0];
    assert_eq!(problem.source_name, "gone.png");
    assert_eq!(problem.code, MASTER_UNAVAILABLE);
    assert!(
        problem.message.contains("--profile exhibition-th"),
        "{problem:?}"
    );
    assert!(problem.message.contains(&keys::master(&gone)));

    memory.close();
    let mut jobs = queue.consume_jobs(&[JobKind::Image], 8).await.unwrap();
    let mut published = Vec::new();
    while let Some(delivery) = jobs.next().await {
        published.push(delivery.unwrap().job.unwrap());
    }
    assert_eq!(published.len(), 2);
    let first = published.iter().find(|j| j.asset_id == in_place).unwrap();
    assert_eq!(
        first.master,
        MasterLocation::LocalPath {
            path: folder.join("in_place.png")
        }
    );
    assert_eq!(first.profile.as_str(), "exhibition-th");
    assert_eq!(first.source_name.as_deref(), Some("in_place.png"));
    // The catalogue's text, as the earlier profile's receipt has it.
    assert_eq!(first.metadata.title.as_deref(), Some("ช้าง"));
    let second = published.iter().find(|j| j.asset_id == in_store).unwrap();
    assert_eq!(
        second.master,
        MasterLocation::Store {
            key: keys::master(&in_store)
        }
    );
    assert_eq!(second.metadata, AssetMetadata::default());
}

#[tokio::test]
async fn cluster_workers_are_not_sent_to_this_machines_files() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("masters");
    std::fs::create_dir(&folder).unwrap();
    let store = Store::Local(LocalStore::new(dir.path().join("store")));
    let [in_place, ..] = earlier_batch(&store, &folder).await;
    let queue = Queue::Memory(MemoryQueue::new());
    let summary = reprocess(
        &store,
        &queue,
        std::slice::from_ref(&in_place),
        "x",
        &options(MasterMode::Upload),
    )
    .await
    .unwrap();
    assert_eq!(summary.rejected.len(), 1, "{summary:?}");
    assert_eq!(summary.rejected[0].code, MASTER_UNAVAILABLE);
}

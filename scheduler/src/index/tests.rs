use caravan_proto::{
    keys, AssetId, BatchEntry, BatchHeader, BatchId, Disposition, JobKind, ProfileName,
    SubmissionState,
};
use caravan_store::{LocalStore, Store};

use crate::index::{self, IndexWriter};

fn entry(n: usize) -> BatchEntry {
    BatchEntry {
        source_name: format!("page-{n:05}.tif"),
        asset_id: Some(AssetId::parse(format!("{n:064x}")).unwrap()),
        kind: Some(JobKind::Image),
        media_type: Some("image/tiff".into()),
        size: n as u64,
        modified: Some(1_700_000_000),
        disposition: Disposition::Queued {
            job_id: uuid::Uuid::new_v4(),
        },
    }
}

fn header() -> BatchHeader {
    BatchHeader {
        v: caravan_proto::PROTO_VERSION,
        batch_id: BatchId::generate(),
        source: "/archive/collection".into(),
        profile: ProfileName::default_profile(),
        created_at: chrono::Utc::now(),
        state: SubmissionState::Submitting,
        shards: 0,
        entries: 0,
    }
}

fn store(dir: &tempfile::TempDir) -> Store {
    Store::Local(LocalStore::new(dir.path().to_owned()))
}

#[tokio::test]
async fn an_index_is_written_in_shards_and_reads_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let header = header();
    let batch = header.batch_id.clone();
    let mut writer = IndexWriter::create(&store, header).await.unwrap();
    let written: Vec<BatchEntry> = (0..2500).map(entry).collect();
    for e in &written {
        writer.push(e).await.unwrap();
    }
    let closed = writer.close(SubmissionState::Complete).await.unwrap();
    assert_eq!((closed.shards, closed.entries), (3, 2500));

    let shards = index::shard_keys(&store, &batch).await.unwrap();
    assert_eq!(shards.len(), 3, "1000 entries a shard: {shards:?}");
    let first = store.get_bytes(&shards[0]).await.unwrap().unwrap();
    assert_eq!(String::from_utf8(first).unwrap().lines().count(), 1000);
    let read = index::load(&store, &batch).await.unwrap();
    assert_eq!(read.entries, written);
    let stored = index::header(&store, &batch).await.unwrap();
    assert_eq!(stored.state, SubmissionState::Complete);
}

#[tokio::test]
async fn an_interrupted_index_goes_on_in_new_shards() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let header = header();
    let batch = header.batch_id.clone();
    let mut writer = IndexWriter::create(&store, header).await.unwrap();
    for n in 0..10 {
        writer.push(&entry(n)).await.unwrap();
    }
    writer.close(SubmissionState::Interrupted).await.unwrap();
    let interrupted = index::header(&store, &batch).await.unwrap();
    assert_eq!(interrupted.state, SubmissionState::Interrupted);

    let mut writer = IndexWriter::reopen(&store, interrupted).await.unwrap();
    assert_eq!(writer.header().state, SubmissionState::Submitting);
    for n in 10..15 {
        writer.push(&entry(n)).await.unwrap();
    }
    writer.close(SubmissionState::Complete).await.unwrap();
    let shards = index::shard_keys(&store, &batch).await.unwrap();
    assert_eq!(
        shards.len(),
        2,
        "the first shard is never written again: {shards:?}"
    );
    let names: Vec<String> = (index::load(&store, &batch).await.unwrap().entries)
        .into_iter()
        .map(|e| e.source_name)
        .collect();
    let expected: Vec<String> = (0..15).map(|n| format!("page-{n:05}.tif")).collect();
    assert_eq!(names, expected);
}

/// An index as `caravan submit` stored it before shards: one JSON object, written here by
/// hand as it was, with no `modified` field.
#[tokio::test]
async fn an_index_stored_whole_before_shards_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let batch = BatchId::parse("b-20261101-old").unwrap();
    let asset = "ab".repeat(32);
    let old = format!(
        r#"{{"v":1,"batch_id":"b-20261101-old","source":"/srv/scans","profile":"default",
        "created_at":"2026-11-01T10:00:00Z","entries":[
        {{"source_name":"a.tif","asset_id":"{asset}","kind":"image","media_type":"image/tiff",
          "size":12,"disposition":{{"type":"queued","job_id":"7d2c1f3e-6a3b-4d6e-9f7a-2b1c0d9e8f7a"}}}},
        {{"source_name":"notes.txt","size":4,
          "disposition":{{"type":"rejected","code":"unsupported_format","message":"not media"}}}}]}}"#
    );
    (store.put_bytes(&keys::batch(&batch), old.into_bytes(), "application/json"))
        .await
        .unwrap();
    let read = index::load(&store, &batch).await.unwrap();
    assert_eq!(read.entries.len(), 2);
    assert_eq!(read.entries[0].modified, None);
    let header = index::header(&store, &batch).await.unwrap();
    assert_eq!(
        (header.state, header.entries),
        (SubmissionState::Complete, 2)
    );
    let summary = crate::status::summarize_stored(&store, &batch)
        .await
        .unwrap();
    assert_eq!(
        (summary.pending.len(), summary.rejected.len()),
        (1, 1),
        "{summary}"
    );
    // Listed beside a sharded one.
    let mut new = header.clone();
    new.batch_id = BatchId::generate();
    new.created_at = chrono::Utc::now();
    index::IndexWriter::create(&store, new.clone())
        .await
        .unwrap()
        .close(SubmissionState::Complete)
        .await
        .unwrap();
    let all: Vec<BatchId> = (index::all(&store).await.unwrap().into_iter())
        .map(|i| i.batch_id)
        .collect();
    assert_eq!(all, [batch, new.batch_id]);
}

//! Writes a batch index as the submission goes: the header first, then each shard of
//! [`BatchHeader::SHARD_ENTRIES`] entries as it fills. The shard being filled is written again
//! every [`FLUSH_EVERY`] (and at the end), so an interrupted submission loses at most that much
//! of its record; shards once full are never written again.

use std::time::{Duration, Instant};

use caravan_proto::{keys, BatchEntry, BatchHeader, BatchId, SubmissionState};
use caravan_store::Store;

use crate::SchedulerError;

/// How often the shard being filled is stored.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct IndexWriter {
    store: Store,
    header: BatchHeader,
    /// The shard being filled, as JSON Lines.
    shard: Vec<u8>,
    in_shard: usize,
    /// Its number.
    number: u32,
    flushed_at: Instant,
}

impl IndexWriter {
    /// Starts the index of a new batch: the header is stored, saying it is being submitted.
    pub async fn create(store: &Store, header: BatchHeader) -> Result<Self, SchedulerError> {
        Self::open(store, header, 0).await
    }

    /// Goes on with the index of an interrupted batch: new entries go into new shards after the
    /// stored ones.
    pub async fn reopen(store: &Store, header: BatchHeader) -> Result<Self, SchedulerError> {
        let stored = shard_keys(store, &header.batch_id).await?;
        let next = (stored.iter())
            .filter_map(|key| key.rsplit('-').next()?.strip_suffix(".jsonl")?.parse().ok())
            .map(|n: u32| n + 1)
            .max()
            .unwrap_or(0);
        Self::open(store, header, next).await
    }

    async fn open(store: &Store, header: BatchHeader, next: u32) -> Result<Self, SchedulerError> {
        let mut writer = Self {
            store: store.clone(),
            header,
            shard: Vec::new(),
            in_shard: 0,
            number: next,
            flushed_at: Instant::now(),
        };
        writer.header.state = SubmissionState::Submitting;
        writer.header.shards = next;
        writer.store_header().await?;
        Ok(writer)
    }

    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// Adds one entry; stores the shard when it is full or [`FLUSH_EVERY`] has passed.
    pub async fn push(&mut self, entry: &BatchEntry) -> Result<(), SchedulerError> {
        serde_json::to_writer(&mut self.shard, entry).expect("batch entries serialize");
        self.shard.push(b'\n');
        self.in_shard += 1;
        self.header.entries += 1;
        if self.in_shard >= BatchHeader::SHARD_ENTRIES {
            self.store_shard().await?;
            self.shard.clear();
            self.in_shard = 0;
            self.number += 1;
        } else if self.flushed_at.elapsed() >= FLUSH_EVERY {
            self.store_shard().await?;
        }
        Ok(())
    }

    /// Stores what is left and the header in its final `state`.
    pub async fn close(mut self, state: SubmissionState) -> Result<BatchHeader, SchedulerError> {
        if self.in_shard > 0 {
            self.store_shard().await?;
            self.number += 1;
        }
        self.header.state = state;
        self.header.shards = self.number;
        self.store_header().await?;
        Ok(self.header)
    }

    async fn store_shard(&mut self) -> Result<(), SchedulerError> {
        let key = keys::batch_shard(&self.header.batch_id, self.number);
        (self.store)
            .put_bytes(&key, self.shard.clone(), "application/x-ndjson")
            .await?;
        self.flushed_at = Instant::now();
        Ok(())
    }

    async fn store_header(&self) -> Result<(), SchedulerError> {
        let body = serde_json::to_vec_pretty(&self.header).expect("batch headers serialize");
        (self.store)
            .put_bytes(
                &keys::batch_header(&self.header.batch_id),
                body,
                "application/json",
            )
            .await?;
        Ok(())
    }
}

/// The keys of a batch's shards, in order.
pub async fn shard_keys(store: &Store, batch: &BatchId) -> Result<Vec<String>, SchedulerError> {
    let mut keys: Vec<String> = (store.list(&keys::batch_shards(batch)).await?)
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| key.ends_with(".jsonl"))
        .collect();
    keys.sort();
    Ok(keys)
}

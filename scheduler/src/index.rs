//! Batch indexes in the store: a header and JSON Lines shards of entries
//! ([`caravan_proto::BatchHeader`]), written as a submission goes ([`writer`]), read shard by
//! shard; and the single-object indexes batches were stored as before (still read).

use caravan_proto::{keys, BatchEntry, BatchHeader, BatchId, BatchIndex, SubmissionState};
use caravan_store::Store;

use crate::SchedulerError;

pub mod writer;

pub use writer::{shard_keys, IndexWriter};

/// A batch's header: the stored one, or one made from a whole old-style index (`Complete`).
pub async fn header(store: &Store, batch: &BatchId) -> Result<BatchHeader, SchedulerError> {
    let key = keys::batch_header(batch);
    if let Some(bytes) = store.get_bytes(&key).await? {
        return serde_json::from_slice(&bytes).map_err(|e| bad(&key, e));
    }
    let whole = whole(store, batch).await?;
    Ok(header_of(&whole))
}

/// The header a whole index would have.
pub fn header_of(index: &BatchIndex) -> BatchHeader {
    BatchHeader {
        v: index.v,
        batch_id: index.batch_id.clone(),
        source: index.source.clone(),
        profile: index.profile.clone(),
        created_at: index.created_at,
        state: SubmissionState::Complete,
        shards: 0,
        entries: index.entries.len() as u64,
    }
}

/// A batch's entries, one shard at a time, in the order they were written.
#[derive(Debug)]
pub struct Shards {
    store: Store,
    /// Shard keys still to read (reversed: the next is last).
    keys: Vec<String>,
    /// An old-style index, read whole.
    whole: Option<Vec<BatchEntry>>,
}

/// A batch's header and its entries to read: one request for a sharded index's header (and a
/// listing of its shards), or one read of an old whole index, which serves both.
pub async fn open(store: &Store, batch: &BatchId) -> Result<(BatchHeader, Shards), SchedulerError> {
    let key = keys::batch_header(batch);
    let (header, keys, whole) = match store.get_bytes(&key).await? {
        Some(bytes) => {
            let header: BatchHeader = serde_json::from_slice(&bytes).map_err(|e| bad(&key, e))?;
            let mut keys = shard_keys(store, batch).await?;
            keys.reverse();
            (header, keys, None)
        }
        None => {
            let index = whole(store, batch).await?;
            (header_of(&index), Vec::new(), Some(index.entries))
        }
    };
    let shards = Shards {
        store: store.clone(),
        keys,
        whole,
    };
    Ok((header, shards))
}

impl Shards {
    /// The next shard's entries; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<BatchEntry>>, SchedulerError> {
        if let Some(entries) = self.whole.take() {
            return Ok(Some(entries));
        }
        while let Some(key) = self.keys.pop() {
            let Some(bytes) = self.store.get_bytes(&key).await? else {
                continue;
            };
            let lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty());
            let entries = lines
                .map(|line| serde_json::from_slice(line).map_err(|e| bad(&key, e)))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Some(entries));
        }
        Ok(None)
    }
}

/// The whole index of `batch` in memory (either way it is stored).
pub async fn load(store: &Store, batch: &BatchId) -> Result<BatchIndex, SchedulerError> {
    let (header, mut shards) = open(store, batch).await?;
    let mut entries = Vec::new();
    while let Some(shard) = shards.next().await? {
        entries.extend(shard);
    }
    Ok(BatchIndex {
        v: header.v,
        batch_id: header.batch_id,
        source: header.source,
        profile: header.profile,
        created_at: header.created_at,
        entries,
    })
}

/// Every batch in the store, oldest first; one whose index does not read is skipped, and said
/// to be.
pub async fn all(store: &Store) -> Result<Vec<BatchIndex>, SchedulerError> {
    let mut batches: Vec<BatchId> = (store.list(keys::BATCHES).await?)
        .into_iter()
        .filter_map(|(key, _)| keys::parse_batch_index(&key))
        .collect();
    batches.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    batches.dedup();
    let mut indexes = Vec::new();
    for batch in batches {
        match load(store, &batch).await {
            Ok(index) => indexes.push(index),
            Err(e) => {
                tracing::warn!(batch = %batch, error = %e, "Skipping a batch index that does not read")
            }
        }
    }
    indexes.sort_by_key(|i| i.created_at);
    Ok(indexes)
}

/// Stores a whole index at once (a batch made in memory, e.g. by reprocessing).
pub async fn store_whole(store: &Store, index: &BatchIndex) -> Result<(), SchedulerError> {
    let mut header = header_of(index);
    header.state = SubmissionState::Submitting;
    let mut writer = IndexWriter::create(store, header).await?;
    for entry in &index.entries {
        writer.push(entry).await?;
    }
    writer.close(SubmissionState::Complete).await?;
    Ok(())
}

async fn whole(store: &Store, batch: &BatchId) -> Result<BatchIndex, SchedulerError> {
    let key = keys::batch(batch);
    let bytes = store
        .get_bytes(&key)
        .await?
        .ok_or_else(|| SchedulerError::UnknownBatch(batch.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(&key, e))
}

fn bad(key: &str, e: serde_json::Error) -> SchedulerError {
    SchedulerError::BadIndex {
        key: key.to_owned(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests;

//! What an interrupted submission already recorded, so `caravan submit --resume <batch>` goes
//! on without hashing, uploading or publishing any of it again.

use std::collections::HashMap;

use caravan_proto::{AssetId, BatchEntry, BatchHeader, BatchId, Disposition, JobKind};
use caravan_store::Store;

use crate::follow::Pending;
use crate::listing::Listed;
use crate::SchedulerError;

/// The entries of a batch's stored index, by file name.
#[derive(Debug, Default)]
pub struct Recorded {
    entries: HashMap<String, Recorded1>,
    /// Assets queued or settled by the recorded entries, by the name first seen with them.
    pub assets: HashMap<AssetId, String>,
    /// Its queued jobs, for a wait.
    pub pending: Pending,
    pub count: u64,
}

#[derive(Debug)]
struct Recorded1 {
    size: u64,
    modified: Option<i64>,
    video: bool,
}

impl Recorded {
    /// Reads `batch`'s index; its header is returned to go on writing it.
    pub async fn load(
        store: &Store,
        batch: &BatchId,
    ) -> Result<(BatchHeader, Self), SchedulerError> {
        let (header, mut shards) = crate::index::open(store, batch).await?;
        let mut recorded = Self::default();
        while let Some(shard) = shards.next().await? {
            for entry in shard {
                recorded.add(entry);
            }
        }
        Ok((header, recorded))
    }

    fn add(&mut self, entry: BatchEntry) {
        self.count += 1;
        if let Some(asset) = &entry.asset_id {
            match &entry.disposition {
                Disposition::Rejected { .. } | Disposition::Duplicate { .. } => {}
                Disposition::Queued { job_id } => {
                    self.pending
                        .insert(*job_id, (asset.clone(), entry.source_name.clone()));
                    self.assets
                        .entry(asset.clone())
                        .or_insert_with(|| entry.source_name.clone());
                }
                _ => {
                    self.assets
                        .entry(asset.clone())
                        .or_insert_with(|| entry.source_name.clone());
                }
            }
        }
        self.entries.insert(
            entry.source_name,
            Recorded1 {
                size: entry.size,
                modified: entry.modified,
                video: entry.kind == Some(JobKind::Video),
            },
        );
    }

    /// Whether `file` is recorded as it is now (same size and modification time): nothing to
    /// do for it. `Some(true)`: it is a video (its subtitle files went with its job).
    pub fn unchanged(&self, file: &Listed) -> Option<bool> {
        let recorded = self.entries.get(&file.source_name)?;
        (recorded.size == file.size && recorded.modified == Some(file.modified))
            .then_some(recorded.video)
    }
}

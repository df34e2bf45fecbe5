//! A batch's state, computed from its index and what the store holds: receipts for finished
//! assets, failure records for failed ones.

use std::fmt;

use caravan_proto::{keys, BatchId, BatchIndex, Disposition, FailureRecord};
use caravan_queue::QueueDepth;
use caravan_store::Store;
use serde::Serialize;

use crate::progress::{self, Progress};
use crate::SchedulerError;

/// What became of every file of a batch.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub batch_id: String,
    pub source: String,
    pub profile: String,
    pub index_key: String,
    /// Processed by this batch.
    pub done: Vec<Item>,
    /// Had a receipt before this batch; nothing was published.
    pub already_done: Vec<Item>,
    /// The same master appears earlier in the batch under another name.
    pub duplicates: Vec<Item>,
    pub failed: Vec<Problem>,
    /// Not queued: unreadable, empty, or not a format Caravan processes.
    pub rejected: Vec<Problem>,
    /// Queued and not finished yet.
    pub pending: Vec<Item>,
    /// The recent completion rate and the time left, while assets are pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Each job queue's backlog and consumers, when the broker was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<QueueDepth>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub source_name: String,
    pub asset_id: Option<String>,
    pub receipt_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub source_name: String,
    pub asset_id: Option<String>,
    pub code: String,
    pub message: String,
}

impl Summary {
    pub fn is_complete(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn total(&self) -> usize {
        self.done.len()
            + self.already_done.len()
            + self.duplicates.len()
            + self.failed.len()
            + self.rejected.len()
            + self.pending.len()
    }
}

/// Reads the index of `batch` from the store.
pub async fn load_index(store: &Store, batch: &BatchId) -> Result<BatchIndex, SchedulerError> {
    let key = keys::batch(batch);
    let bytes = store
        .get_bytes(&key)
        .await?
        .ok_or_else(|| SchedulerError::UnknownBatch(batch.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| SchedulerError::BadIndex {
        key,
        detail: e.to_string(),
    })
}

/// Every batch index in the store, oldest first (one that does not parse is skipped, and said
/// to be).
pub async fn all_indexes(store: &Store) -> Result<Vec<BatchIndex>, SchedulerError> {
    let mut indexes = Vec::new();
    for (key, _) in store.list("batches/").await? {
        let Some(bytes) = store.get_bytes(&key).await? else {
            continue;
        };
        match serde_json::from_slice::<BatchIndex>(&bytes) {
            Ok(index) => indexes.push(index),
            Err(e) => tracing::warn!(key, error = %e, "Skipping a batch index that does not parse"),
        }
    }
    indexes.sort_by_key(|i| i.created_at);
    Ok(indexes)
}

/// The current state of every entry of `index`.
pub async fn summarize(store: &Store, index: &BatchIndex) -> Result<Summary, SchedulerError> {
    let mut summary = Summary {
        batch_id: index.batch_id.to_string(),
        source: index.source.clone(),
        profile: index.profile.to_string(),
        index_key: keys::batch(&index.batch_id),
        done: Vec::new(),
        already_done: Vec::new(),
        duplicates: Vec::new(),
        failed: Vec::new(),
        rejected: Vec::new(),
        pending: Vec::new(),
        progress: None,
        queues: None,
    };
    let mut finished_at = Vec::new();
    for entry in &index.entries {
        let asset = entry.asset_id.as_ref();
        let receipt_key = asset.map(|a| keys::receipt(a, &index.profile));
        let item = || Item {
            source_name: entry.source_name.clone(),
            asset_id: asset.map(ToString::to_string),
            receipt_key: receipt_key.clone(),
        };
        match (&entry.disposition, asset) {
            (Disposition::Rejected { code, message }, _) => summary.rejected.push(Problem {
                source_name: entry.source_name.clone(),
                asset_id: asset.map(ToString::to_string),
                code: code.clone(),
                message: message.clone(),
            }),
            (Disposition::AlreadyDone, _) => summary.already_done.push(item()),
            (Disposition::AlreadyFailed { code, message }, _) => summary.failed.push(Problem {
                source_name: entry.source_name.clone(),
                asset_id: asset.map(ToString::to_string),
                code: code.clone(),
                message: format!("{message} (failed in an earlier batch)"),
            }),
            (Disposition::Duplicate { .. }, _) => summary.duplicates.push(item()),
            (Disposition::Queued { job_id }, Some(asset)) => {
                if let Some((_, modified)) = store
                    .stat(receipt_key.as_deref().unwrap_or_default())
                    .await?
                {
                    finished_at.push(modified);
                    summary.done.push(item());
                } else if let Some(failure) = failure_of(store, asset, index, *job_id).await? {
                    summary.failed.push(Problem {
                        source_name: entry.source_name.clone(),
                        asset_id: Some(asset.to_string()),
                        code: failure.code,
                        message: failure.message,
                    });
                } else {
                    summary.pending.push(item());
                }
            }
            (Disposition::Queued { .. }, None) => summary.pending.push(item()),
        }
    }
    if !summary.pending.is_empty() {
        summary.progress = Some(progress::estimate(
            std::time::SystemTime::now(),
            index.created_at.into(),
            &finished_at,
            summary.pending.len(),
        ));
    }
    Ok(summary)
}

/// The failure record of this batch's job for `asset`, if there is one (an older batch's failure
/// of the same asset does not count).
pub(crate) async fn failure_of(
    store: &Store,
    asset: &caravan_proto::AssetId,
    index: &BatchIndex,
    job_id: uuid::Uuid,
) -> Result<Option<FailureRecord>, SchedulerError> {
    let failure = failure_record(store, asset, &index.profile).await?;
    Ok(failure.filter(|f| f.job_id == job_id))
}

/// The stored failure record of `asset` under `profile`, if there is one that parses.
pub async fn failure_record(
    store: &Store,
    asset: &caravan_proto::AssetId,
    profile: &caravan_proto::ProfileName,
) -> Result<Option<FailureRecord>, SchedulerError> {
    let Some(bytes) = store.get_bytes(&keys::failure(asset, profile)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<FailureRecord>(&bytes).ok())
}

/// `95 s`, `12 min`, `3 h 20 min`.
fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s.div_ceil(60)),
        s => format!("{} h {} min", s / 3600, (s % 3600).div_ceil(60)),
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Batch {} (profile {}) from {}",
            self.batch_id, self.profile, self.source
        )?;
        writeln!(
            f,
            "  {} files: {} done, {} already done, {} duplicates, {} failed, {} rejected, {} pending",
            self.total(),
            self.done.len(),
            self.already_done.len(),
            self.duplicates.len(),
            self.failed.len(),
            self.rejected.len(),
            self.pending.len()
        )?;
        for (title, problems) in [("Failed", &self.failed), ("Rejected", &self.rejected)] {
            if !problems.is_empty() {
                writeln!(f, "  {title}:")?;
                for p in problems.iter() {
                    writeln!(f, "    {} — {}: {}", p.source_name, p.code, p.message)?;
                }
            }
        }
        if let Some(p) = &self.progress {
            match p.eta_seconds {
                Some(eta) => writeln!(
                    f,
                    "  {:.1} assets a minute over the last {}; about {} left",
                    p.per_minute,
                    duration(p.window_seconds),
                    duration(eta)
                )?,
                None => writeln!(
                    f,
                    "  Nothing finished in the last {}: no time left to estimate (are workers running? see the queues below)",
                    duration(p.window_seconds)
                )?,
            }
        }
        if let Some(queues) = &self.queues {
            writeln!(f, "  Queues (jobs waiting, workers consuming):")?;
            for q in queues {
                let what = q.kind.map_or("dead letters", |k| k.as_str());
                writeln!(
                    f,
                    "    {what:<12} {:>7} waiting  {:>3} consuming  ({})",
                    q.ready, q.consumers, q.queue
                )?;
            }
        }
        if !self.pending.is_empty() {
            writeln!(
                f,
                "  Still pending (check later with `caravan status {}`):",
                self.batch_id
            )?;
            for item in self.pending.iter().take(20) {
                writeln!(f, "    {}", item.source_name)?;
            }
            if self.pending.len() > 20 {
                writeln!(f, "    … and {} more", self.pending.len() - 20)?;
            }
        }
        Ok(())
    }
}

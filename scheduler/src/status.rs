//! A batch's state, computed from its index and what the store holds: receipts for finished
//! assets, failure records for failed ones.

use std::fmt;

use caravan_proto::{
    keys, BatchEntry, BatchHeader, BatchId, BatchIndex, Disposition, ProfileName, SubmissionState,
};
use caravan_queue::QueueDepth;
use caravan_store::Store;
use serde::Serialize;

pub use crate::outcomes::failure_record;
use crate::outcomes::Outcomes;
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

/// Reads the whole index of `batch` from the store (either way it is stored).
pub async fn load_index(store: &Store, batch: &BatchId) -> Result<BatchIndex, SchedulerError> {
    crate::index::load(store, batch).await
}

/// Every batch index in the store, oldest first (one that does not read is skipped, and said
/// to be).
pub async fn all_indexes(store: &Store) -> Result<Vec<BatchIndex>, SchedulerError> {
    crate::index::all(store).await
}

/// The current state of every entry of `index`.
pub async fn summarize(store: &Store, index: &BatchIndex) -> Result<Summary, SchedulerError> {
    let mut tally = Tally::new(store, &crate::index::header_of(index)).await?;
    for entry in &index.entries {
        tally.add(entry).await?;
    }
    Ok(tally.finish())
}

/// The current state of the stored batch `batch`, read shard by shard (receipts and failure
/// records listed, not asked one by one, for a large batch).
pub async fn summarize_stored(store: &Store, batch: &BatchId) -> Result<Summary, SchedulerError> {
    let (header, mut shards) = crate::index::open(store, batch).await?;
    let mut tally = Tally::new(store, &header).await?;
    while let Some(shard) = shards.next().await? {
        for entry in &shard {
            tally.add(entry).await?;
        }
    }
    Ok(tally.finish())
}

/// A summary being counted, entry by entry.
struct Tally<'a> {
    store: &'a Store,
    profile: ProfileName,
    created_at: std::time::SystemTime,
    outcomes: Outcomes,
    summary: Summary,
    finished_at: Vec<std::time::SystemTime>,
}

impl<'a> Tally<'a> {
    async fn new(store: &'a Store, header: &BatchHeader) -> Result<Self, SchedulerError> {
        let entries = header.entries as usize;
        let outcomes = Outcomes::for_assets(store, &header.profile, entries, false).await?;
        let mut source = header.source.clone();
        if header.state != SubmissionState::Complete {
            source.push_str(&format!(
                " (submission not finished: `caravan submit --resume {}` goes on with it)",
                header.batch_id
            ));
        }
        Ok(Self {
            store,
            profile: header.profile.clone(),
            created_at: header.created_at.into(),
            outcomes,
            summary: Summary {
                batch_id: header.batch_id.to_string(),
                source,
                profile: header.profile.to_string(),
                index_key: keys::batch_header(&header.batch_id),
                done: Vec::new(),
                already_done: Vec::new(),
                duplicates: Vec::new(),
                failed: Vec::new(),
                rejected: Vec::new(),
                pending: Vec::new(),
                progress: None,
                queues: None,
            },
            finished_at: Vec::new(),
        })
    }

    async fn add(&mut self, entry: &BatchEntry) -> Result<(), SchedulerError> {
        let summary = &mut self.summary;
        let asset = entry.asset_id.as_ref();
        let receipt_key = asset.map(|a| keys::receipt(a, &self.profile));
        let item = || Item {
            source_name: entry.source_name.clone(),
            asset_id: asset.map(ToString::to_string),
            receipt_key: receipt_key.clone(),
        };
        let problem = |code: &str, message: String| Problem {
            source_name: entry.source_name.clone(),
            asset_id: asset.map(ToString::to_string),
            code: code.to_owned(),
            message,
        };
        match (&entry.disposition, asset) {
            (Disposition::Rejected { code, message }, _) => {
                summary.rejected.push(problem(code, message.clone()))
            }
            (Disposition::AlreadyDone, _) => summary.already_done.push(item()),
            (Disposition::AlreadyFailed { code, message }, _) => summary.failed.push(problem(
                code,
                format!("{message} (failed in an earlier batch)"),
            )),
            (Disposition::Duplicate { .. }, _) => summary.duplicates.push(item()),
            (Disposition::Queued { job_id }, Some(asset)) => {
                let (store, profile) = (self.store, &self.profile);
                if let Some(modified) = self.outcomes.receipt(store, asset, profile).await? {
                    self.finished_at.push(modified);
                    summary.done.push(item());
                } else if let Some(failure) = (self.outcomes.failure(store, asset, profile).await?)
                    .filter(|f| f.job_id == *job_id)
                {
                    summary.failed.push(problem(&failure.code, failure.message));
                } else {
                    summary.pending.push(item());
                }
            }
            (Disposition::Queued { .. }, None) => summary.pending.push(item()),
        }
        Ok(())
    }

    fn finish(mut self) -> Summary {
        if !self.summary.pending.is_empty() {
            self.summary.progress = Some(progress::estimate(
                std::time::SystemTime::now(),
                self.created_at,
                &self.finished_at,
                self.summary.pending.len(),
            ));
        }
        self.summary
    }
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

//! The batch index: what a submission contained and what became of each file at submit time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{AssetId, BatchId, ProfileName};
use crate::job::JobKind;

/// A whole batch index in memory: what `caravan status` and the exhibition read, and the single
/// object (`batches/<id>.json`) batches were stored as before [`BatchHeader`] and its shards
/// (still read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchIndex {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub batch_id: BatchId,
    /// What was submitted: a folder path or an S3 prefix, as given.
    pub source: String,
    pub profile: ProfileName,
    pub created_at: DateTime<Utc>,
    pub entries: Vec<BatchEntry>,
}

/// One submitted file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchEntry {
    /// Path relative to the submitted folder, for people. Never used in keys.
    pub source_name: String,
    #[serde(default)]
    pub asset_id: Option<AssetId>,
    #[serde(default)]
    pub kind: Option<JobKind>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub size: u64,
    /// The file's modification time when it was hashed (Unix seconds), so a resumed submission
    /// knows it unchanged without reading it again; `None` in indexes written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
    pub disposition: Disposition,
}

/// What the scheduler did with a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Disposition {
    /// A job was published.
    Queued { job_id: Uuid },
    /// A receipt for this asset and profile already existed; nothing was published.
    AlreadyDone,
    /// A failure record for this asset and profile already existed (permanent failures depend
    /// only on the bytes and the profile); submit with `--retry-failed` to try again.
    AlreadyFailed { code: String, message: String },
    /// The same master appears earlier in this batch under another name.
    Duplicate { of: String },
    /// The file was not queued (unreadable, not a media type Caravan handles).
    Rejected { code: String, message: String },
}

/// How a batch index is stored now: this header (`batches/<id>/index.json`), written when the
/// submission starts and again when it ends, and the entries as JSON Lines shards
/// (`batches/<id>/entries-<n>.jsonl`, at most [`BatchHeader::SHARD_ENTRIES`] each) written as
/// the submission goes, so neither writing nor reading needs the whole batch in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchHeader {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub batch_id: BatchId,
    pub source: String,
    pub profile: ProfileName,
    pub created_at: DateTime<Utc>,
    pub state: SubmissionState,
    /// Shards written so far, numbered from 0.
    pub shards: u32,
    /// Entries in them.
    pub entries: u64,
}

impl BatchHeader {
    pub const SHARD_ENTRIES: usize = 1000;
}

/// Whether every file of the source is in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionState {
    /// The submission is running (or died: `caravan submit --resume <id>` goes on with it).
    Submitting,
    /// Stopped before the end (Ctrl-C, a lost link); `--resume` goes on with it.
    Interrupted,
    /// Every file of the source is in the index.
    Complete,
}

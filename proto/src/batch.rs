//! The batch index: what a submission contained and what became of each file at submit time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{AssetId, BatchId, ProfileName};
use crate::job::JobKind;

/// Written by the scheduler when it has published a batch; `caravan status` reads it and looks
/// up each asset's receipt or failure record to report the batch's current state.
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

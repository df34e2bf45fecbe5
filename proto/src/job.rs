//! The job a scheduler publishes and a worker consumes.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{AssetId, BatchId, ProfileName};
use crate::metadata::AssetMetadata;

/// Which pipeline a job needs. Each kind has its own queue, so operators can scale image and
/// video workers separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Image,
    Video,
}

impl JobKind {
    pub const ALL: [JobKind; 2] = [JobKind::Image, JobKind::Video];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Image => "image",
            JobKind::Video => "video",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JobKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "image" => Ok(JobKind::Image),
            "video" => Ok(JobKind::Video),
            other => Err(format!(
                "unknown job kind {other:?} (expected image or video)"
            )),
        }
    }
}

/// Where a worker finds the master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MasterLocation {
    /// An object in the shared store (cluster mode), normally [`crate::keys::master`].
    Store { key: String },
    /// A file on a filesystem the worker shares with the scheduler (embedded mode): the master
    /// is read in place instead of being copied.
    LocalPath { path: PathBuf },
}

/// One unit of work: make the derivatives of one master with one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    /// Unique per publication; a retry keeps the id and bumps `attempt`.
    pub job_id: Uuid,
    /// The submission this job belongs to; events are routed by it.
    pub batch_id: BatchId,
    /// SHA-256 of the master; the worker verifies it after fetching.
    pub asset_id: AssetId,
    pub master: MasterLocation,
    /// Size of the master in bytes, as hashed by the scheduler.
    pub master_size: u64,
    /// Media type sniffed from the master's content (never from its extension).
    pub media_type: String,
    pub kind: JobKind,
    pub profile: ProfileName,
    /// 1 for the first publication; incremented by each retry after a transient failure.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// The file name the asset was submitted under, for people reading logs and summaries.
    /// Never used to build keys or paths.
    #[serde(default)]
    pub source_name: Option<String>,
    #[serde(default = "Utc::now")]
    pub submitted_at: DateTime<Utc>,
    /// Title, creator and rights from the submission, for the derivatives' metadata.
    #[serde(default, skip_serializing_if = "AssetMetadata::is_empty")]
    pub metadata: AssetMetadata,
}

fn first_attempt() -> u32 {
    1
}

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

/// A subtitle file that travels with a video master: `film.th.vtt` or `film.ar.srt` beside
/// `film.mkv` ([`Sidecar::parse_name`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The canonical BCP 47 tag from the file name.
    pub language: String,
    pub format: SubtitleFormat,
    pub location: MasterLocation,
    /// SHA-256 of the file, checked by the worker after fetching it.
    pub sha256: String,
    pub size: u64,
    /// The file's name as submitted, for people.
    pub source_name: String,
}

/// The subtitle formats a sidecar may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubtitleFormat {
    /// SubRip: converted to WebVTT.
    Srt,
    /// WebVTT.
    Vtt,
}

impl Sidecar {
    /// `(stem, language, format)` of a sidecar's file name (`film.th.vtt` → `("film", "th",
    /// Vtt)`), or `None` when the name is not `<stem>.<language>.<srt|vtt>`; the language is
    /// as written (the caller checks it is BCP 47).
    pub fn parse_name(name: &str) -> Option<(&str, &str, SubtitleFormat)> {
        let (rest, extension) = name.rsplit_once('.')?;
        let format = match extension.to_ascii_lowercase().as_str() {
            "srt" => SubtitleFormat::Srt,
            "vtt" => SubtitleFormat::Vtt,
            _ => return None,
        };
        let (stem, language) = rest.rsplit_once('.')?;
        (!stem.is_empty() && !language.is_empty()).then_some((stem, language, format))
    }
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
    /// Subtitle files submitted beside a video master.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtitles: Vec<Sidecar>,
}

fn first_attempt() -> u32 {
    1
}

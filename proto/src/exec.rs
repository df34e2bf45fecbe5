//! Messages between a worker and the pipeline child process it supervises
//! (`caravan exec-job`). The request goes to the child's stdin as one JSON document; the child
//! writes one [`ExecMessage`] per line to stdout and exits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ids::OutputName;
use crate::job::JobKind;
use crate::profile::Profile;

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecRequest {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub kind: JobKind,
    /// The master, on local disk.
    pub input: PathBuf,
    /// An empty directory the pipeline writes its outputs into.
    pub out_dir: PathBuf,
    /// The asset being processed, for outputs that name it (a IIIF `info.json`'s `id`).
    #[serde(default)]
    pub asset_id: Option<crate::AssetId>,
    pub profile: Profile,
    /// Title, creator and rights to write into the public derivatives.
    #[serde(default)]
    pub metadata: crate::AssetMetadata,
    /// Whether the worker signs the receipt (`<receipt>.sig` beside it), for the manifest's
    /// link to the signature.
    #[serde(default)]
    pub signed: bool,
    /// Subtitle files of a video master, on local disk.
    #[serde(default)]
    pub subtitles: Vec<SubtitleInput>,
}

/// A sidecar subtitle file the worker fetched for the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtitleInput {
    pub language: String,
    pub format: crate::SubtitleFormat,
    pub path: PathBuf,
    /// The file as submitted, for messages.
    pub source_name: String,
    pub sha256: String,
}

/// One line of the child's stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExecMessage {
    Progress {
        percent: f32,
    },
    Done {
        outputs: Vec<ExecOutput>,
        tools: BTreeMap<String, String>,
        #[serde(default)]
        master_info: BTreeMap<String, serde_json::Value>,
    },
    Failed {
        code: String,
        message: String,
        /// True when the failure is about this machine (scratch disk full), not the input.
        #[serde(default)]
        retryable: bool,
    },
}

/// An output file the pipeline wrote into `out_dir`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecOutput {
    /// File name inside `out_dir`; also the output's name in the store.
    pub name: OutputName,
    pub media_type: String,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub duration_seconds: Option<f64>,
}

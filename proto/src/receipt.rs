//! Receipts: the commit record of a finished job, and failure records for jobs that cannot finish.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{AssetId, OutputName, ProfileName};
use crate::job::JobKind;
use crate::profile::Profile;

/// Proof of how every output of one asset was made. A receipt is written only after every
/// output it lists is stored, so a reader who sees a receipt can fetch everything in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    /// SHA-256 of the master.
    pub asset_id: AssetId,
    pub kind: JobKind,
    pub master_size: u64,
    pub master_media_type: String,
    pub profile: ProfileName,
    pub outputs: Vec<OutputRecord>,
    /// The exact parameters the pipeline ran with.
    pub parameters: Profile,
    /// The submission's title, creator and rights, as written into the derivatives.
    #[serde(default, skip_serializing_if = "crate::AssetMetadata::is_empty")]
    pub metadata: crate::AssetMetadata,
    /// Versions of everything that shaped the bytes: caravan itself, codec libraries, crates.
    pub tools: BTreeMap<String, String>,
    /// What the pipeline measured about the master (dimensions, duration, streams …).
    #[serde(default)]
    pub master_info: BTreeMap<String, serde_json::Value>,
    pub job_id: Uuid,
    #[serde(default)]
    pub worker: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The key the receipt is signed with (its signature is stored beside it); absent on
    /// receipts made without a signing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<crate::SignedBy>,
}

/// One stored output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub name: OutputName,
    /// Object key in the store.
    pub key: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// SHA-256 of the output as the pipeline made it, before its content credentials (C2PA
    /// manifest) were embedded: the same master, profile and tools give the same value in any
    /// run, while [`Self::sha256`] of a signed file differs every time (signature, ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    /// Whether the output carries content credentials (a C2PA manifest).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub content_credentials: bool,
}

/// Written when a job fails permanently, so `caravan status` can say why long after the
/// scheduler that submitted it has gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub asset_id: AssetId,
    pub profile: ProfileName,
    pub job_id: Uuid,
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub attempt: u32,
    #[serde(default)]
    pub worker: String,
    pub at: DateTime<Utc>,
}

/// A worker's lease on an asset while it processes it, so a second delivery of the same asset
/// waits instead of doing the work again. Refreshed while the job runs; stale when it is not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    /// Unique per delivery.
    pub token: Uuid,
    pub job_id: Uuid,
    #[serde(default)]
    pub worker: String,
    pub refreshed_at: DateTime<Utc>,
}

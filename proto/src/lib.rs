//! `caravan-proto`: the versioned contract between Caravan processes.
//!
//! Everything that crosses a process boundary is defined here and nowhere else: the [`Job`]
//! a scheduler publishes, the [`JobEvent`]s a worker sends back, the [`Receipt`] that proves
//! how an output was made, the [`BatchIndex`] that records a submission, the messages between a
//! worker and its pipeline child process ([`exec`]), the queue names ([`Topology`]), the
//! object-key layout ([`keys`]) and the catalogue of failure codes ([`FailureCode`]). It also
//! holds [`sniff`], the content rules that decide what a file is, so the scheduler routes by the
//! same rules the pipelines accept without linking them.
//!
//! # Invariants
//! - Every message carries a `v` field. Adding a field is a compatible change: new fields are
//!   `#[serde(default)]`, and unknown fields are ignored, so a message written by an older or
//!   newer binary still parses. Removing or re-typing a field needs a new `v` and new queue names.
//! - Object keys are built only from validated hashes, profile names, batch ids and fixed output
//!   names ([`ids`]), never from user-supplied file names, so no key can escape its prefix.
//! - This crate does no I/O.

pub mod batch;
pub mod event;
pub mod exec;
pub mod failure;
pub mod ids;
pub mod job;
pub mod keys;
pub mod metadata;
pub mod profile;
pub mod receipt;
pub mod sniff;
pub mod topology;
pub mod trust;

pub use batch::{BatchEntry, BatchHeader, BatchIndex, Disposition, SubmissionState};
pub use event::{EventBody, JobEvent};
pub use failure::FailureCode;
pub use ids::{AssetId, BatchId, IdError, OutputName, ProfileName};
pub use job::{Job, JobKind, MasterLocation, Sidecar, SubtitleFormat};
pub use metadata::AssetMetadata;
pub use profile::{
    ffv1_slices_valid, HlsProfile, HlsRung, IiifProfile, ImageProfile, Limits, ManifestProfile,
    PreservationAudio, PreservationProfile, Profile, ProviderProfile, VideoProfile,
    WatermarkProfile, DEFAULT_CMYK_PROFILE, NAIVE_CMYK,
};
pub use receipt::{Claim, FailureRecord, OutputRecord, Receipt};
pub use topology::Topology;
pub use trust::{ConsistencyProof, InclusionProof, LogEntry, LogRequest, SignedBy, TreeHead};

/// The message version this binary writes. Readers accept any version: fields they do not know
/// are ignored and fields they miss take their defaults.
pub const PROTO_VERSION: u32 = 1;

fn current_version() -> u32 {
    PROTO_VERSION
}

#[cfg(test)]
mod tests;

//! `caravan-scheduler`: turns a folder of masters into a batch of jobs and follows it to the end.
//!
//! # Layout
//! - [`scan`]: walks a folder, recognises each file by content and hashes it.
//! - [`metadata`]: the submission's catalogue (title, creator, rights per file).
//! - [`sidecars`]: subtitle files beside a video master, attached to its job.
//! - [`submit`]: publishes one job per new asset (a pipeline: listing, hashing, uploads and
//!   publishes overlap), writes the batch index as it goes, resumes an interrupted one,
//!   follows the batch.
//! - [`index`]: batch indexes in the store: a header and JSON Lines shards (old single-object
//!   indexes still read).
//! - `outcomes`: which assets have receipts, failure records, stored masters: per key for a
//!   few, by listing for many.
//! - [`reprocess`]: assets submitted before, as a new batch with another profile.
//! - [`follow`]: waits for a batch's jobs through events, cross-checked against the store.
//! - [`status`]: a batch's state, computed from its index and the receipts and failure records.
//! - [`progress`]: the recent completion rate and the time left.
//!
//! # Invariants
//! - The store is the source of truth: a summary is computed from receipts and failure
//!   records, never from events alone (events are progress reports and may be lost).
//! - An asset whose receipt exists for the profile is never published again.
//! - User file names appear only in the batch index and summaries, never in keys or jobs'
//!   routing.
//! - The batch index is written before the scheduler waits, so `caravan status` works even if
//!   the submitting process is gone.

mod error;
pub mod follow;
pub mod index;
pub mod listing;
pub mod metadata;
mod outcomes;
pub mod progress;
pub mod reprocess;
pub mod scan;
pub mod sidecars;
pub mod status;
pub mod submit;

pub use error::SchedulerError;
pub use status::Summary;
pub use submit::{submit, MasterMode, Source, SubmitOptions};

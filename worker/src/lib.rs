//! `caravan-worker`: takes jobs off the queue and turns masters into derivatives.
//!
//! # Layout
//! - [`consume`]: the consume loop: job slots, reconnects, shutdown ([`Worker`]).
//! - [`job`]: one delivery, start to finish: receipt check, lease, fetch, pipeline, outputs,
//!   receipt, settle; [`retry`]: the retry policy for failures; `report`: events, failure
//!   records, settling; `dead_letters`: failure records for jobs the broker gave up on.
//! - `lease`: at most one worker processes an asset at a time, from the store alone.
//! - `scratch`: per-job scratch folders, and stale ones of crashed workers.
//! - [`isolate`]: the pipeline in a supervised child process (`caravan exec-job`):
//!   [`isolate::parent`] (the worker's side) and [`isolate::child`] (the child's).
//! - `signing`: content credentials in the outputs, the receipt's signature and its log entry
//!   (with a key); [`sequencer`]: the transparency log's one appender.
//! - [`telemetry`]: Prometheus metrics, readiness, and the `/metrics`, `/healthz`, `/readyz`
//!   endpoints.
//! - [`profiles`]: named parameter sets; [`config`]: the worker's settings.
//!
//! The media work itself is `caravan-media`; this crate never decodes a master in its own
//! process (except with [`Isolation::InProcess`], for this crate's unit tests).
//!
//! # Invariants
//! - A delivery is acknowledged only after every output and then the receipt are stored; a
//!   permanent failure is recorded in the store and dead-lettered; a transient one is retried
//!   with backoff. No path acknowledges silently.
//! - Untrusted media is decoded only inside the child process, so a decoder crash, hang or
//!   allocation failure ends that job, never the worker.
//! - Scratch space of a job is removed when the job ends, and stale scratch on start.
//! - With a signing key, a receipt is committed, then signed, then handed to the log; a
//!   delivery of a job whose receipt exists completes whichever of those steps is missing.
//! - Failure codes come from [`caravan_proto::FailureCode`]; the job layer decides by
//!   [`JobError::is_retryable`], never by message text.

pub mod config;
pub mod consume;
mod context;
mod dead_letters;
mod error;
pub mod isolate;
pub mod job;
mod lease;
pub mod profiles;
mod report;
pub mod retry;
mod scratch;
pub mod sequencer;
mod signing;
pub mod telemetry;

pub use config::{Failpoint, Isolation, WorkerConfig};
pub use consume::Worker;
pub use error::JobError;
pub use profiles::ProfileSet;

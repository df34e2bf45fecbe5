//! `caravan-worker`: takes jobs off the queue and turns masters into derivatives.
//!
//! # Layout
//! - [`worker`]: the consume loop: job slots, reconnects, shutdown.
//! - [`job`]: one delivery, start to finish: fetch the master, run the pipeline, store the
//!   outputs, write the receipt, settle the delivery.
//! - [`isolate`]: runs a pipeline in a supervised child process (`caravan exec-job`) under a
//!   time and memory limit; also the child's side of that conversation.
//! - [`pipeline`]: the media work itself, on local files only: [`pipeline::image`],
//!   [`pipeline::video`]; [`sniff`] recognises media types from content.
//! - [`profiles`]: named parameter sets; [`config`]: the worker's settings.
//!
//! # Invariants
//! - A delivery is acknowledged only after every output and then the receipt are stored; a
//!   permanent failure is recorded in the store and dead-lettered; a transient one is retried
//!   with backoff. No path acknowledges silently.
//! - Pipelines never touch the network, the queue or the store: they read one local file and
//!   write into one local directory.
//! - Untrusted media is decoded only inside the child process, so a decoder crash, hang or
//!   allocation failure ends that job, never the worker.
//! - Scratch space of a job is removed when the job ends, and stale scratch on start.

pub mod config;
mod error;
pub mod isolate;
pub mod job;
mod lease;
pub mod pipeline;
pub mod profiles;
pub mod sniff;
mod tools;
pub mod worker;

pub use config::{Failpoint, Isolation, WorkerConfig};
pub use error::JobError;
pub use profiles::ProfileSet;
pub use worker::Worker;

#[cfg(test)]
mod tests;

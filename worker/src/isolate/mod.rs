//! Runs a pipeline where it cannot hurt the worker: a child process of the `caravan` binary
//! (`caravan exec-job`) with an address-space cap and a wall-clock limit.
//!
//! The request goes to the child's stdin as JSON; the child answers with JSON lines
//! ([`caravan_proto::exec::ExecMessage`]) on stdout and exits.
//!
//! - [`parent`]: the worker's side (start, feed, read, time out, classify the exit);
//! - [`child`]: the child's side (cap itself, run [`caravan_media::run`], report).

pub mod child;
pub mod parent;

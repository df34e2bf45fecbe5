//! `caravan-testkit`: what Caravan's unit, end-to-end and fault tests share, in one place so no
//! helper exists twice. A dev-dependency only: nothing here reaches the binary.
//!
//! - [`corpus`]: `../shared/corpus`, which CI always has (a missing corpus fails there) and a
//!   checkout elsewhere may not (the test says it skipped and is counted as skipped);
//! - [`ffmpeg`]: fixtures made by the FFmpeg CLI and what `ffprobe`/`ffmpeg` read back;
//! - [`tools`]: other reference tools (libtiff, Little CMS, exiftool) run as a user would;
//! - [`images`]: pixel comparisons and hand-built image files (PNG chunks, header bombs);
//! - [`process`]: a process's wall time and peak resident memory, from `wait4`;
//! - [`files`]: walking folders and hashing files; [`fixtures`]: submission folders;
//! - [`requests`]: pipeline requests as a worker sends them;
//! - [`broker`]: removing a test's queues from the shared RabbitMQ when it is done.
//!
//! Helpers compute nothing the code under test computes: expected values come from the
//! fixture's own parameters or from a tool this project did not write.

pub mod broker;
pub mod corpus;
pub mod ffmpeg;
pub mod files;
pub mod fixtures;
pub mod images;
pub mod process;
pub mod requests;
pub mod tools;

//! What every FFmpeg graph and input of the pipelines shares.
//!
//! - [`graph`]: buffer sources, feeding, sinks and parsing of filter graphs.
//! - [`input`]: opening a master (local files and real containers only) and reading packets.

pub mod graph;
pub mod input;

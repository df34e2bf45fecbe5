//! The media work: one local master in, files in one local output directory out.
//!
//! Pipelines run inside the `caravan exec-job` child process (see [`crate::isolate`]); they
//! must not touch the network, the queue or the store.

pub mod cmyk;
pub mod colour;
pub mod encode;
pub mod ffmpeg_still;
pub mod iiif;
pub mod image;
pub mod interlace;
pub mod jp2;
pub mod lzw;
pub mod probe;
pub mod pyramid;
pub mod stills;
pub mod tiff_bands;
pub mod tiff_variants;
pub mod video;
pub mod watermark;
pub mod xmp;

use std::collections::BTreeMap;
use std::path::PathBuf;

use caravan_proto::exec::{ExecOutput, ExecRequest};
use caravan_proto::JobKind;

/// What a pipeline made.
#[derive(Debug, Clone)]
pub struct PipelineOutput {
    pub outputs: Vec<ExecOutput>,
    pub tools: BTreeMap<String, String>,
    pub master_info: BTreeMap<String, serde_json::Value>,
}

/// Why a pipeline could not finish. All but [`PipelineError::Output`] are about the input and
/// are permanent: running the same master again gives the same result.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot decode the master as {format}: {detail}; it is corrupt, truncated or not what its header claims: check the file and submit a good copy")]
    Undecodable { format: String, detail: String },

    #[error("{0} masters are not supported by this pipeline yet; convert the master or submit it to a worker that supports it")]
    Unsupported(String),

    #[error("the master has no video stream; submit audio-only files to an audio pipeline")]
    NoVideoStream,

    #[error("the master exceeds the profile's limits: {0}; raise the limits in the profile if the master is genuine")]
    LimitsExceeded(String),

    #[error(
        "cannot write output {path}: {source}; check free space in the worker's scratch directory"
    )]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("encoding failed: {0}")]
    Encode(String),

    #[error("the profile's watermark cannot be drawn: {0}")]
    Watermark(String),
}

impl PipelineError {
    pub fn code(&self) -> &'static str {
        match self {
            PipelineError::Undecodable { .. } => "undecodable_input",
            PipelineError::Unsupported(_) => "unsupported_format",
            PipelineError::NoVideoStream => "no_video_stream",
            PipelineError::LimitsExceeded(_) => "limits_exceeded",
            PipelineError::Output { .. } => "output_io",
            PipelineError::Encode(_) => "encode_failed",
            PipelineError::Watermark(_) => "watermark_failed",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, PipelineError::Output { .. })
    }
}

/// Runs the pipeline `request.kind` asks for. `progress` receives percentages (0–100).
pub fn run(
    request: &ExecRequest,
    progress: &mut dyn FnMut(f32),
) -> Result<PipelineOutput, PipelineError> {
    match request.kind {
        JobKind::Image => image::run(request, progress),
        JobKind::Video => video::run(
            &request.input,
            &request.out_dir,
            &request.profile,
            &request.metadata,
            progress,
        ),
    }
}

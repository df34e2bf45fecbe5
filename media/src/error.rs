//! Why a pipeline could not finish.

use std::path::PathBuf;

use caravan_proto::FailureCode;

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

    /// A file the profile names cannot be used on this worker.
    #[error("{0}")]
    ProfileFile(String),

    #[error("subtitles beside the master: {0}; fix the file and submit again with --retry-failed")]
    Subtitles(String),
}

impl PipelineError {
    /// The failure's entry in the catalogue ([`FailureCode`]).
    pub fn code(&self) -> FailureCode {
        match self {
            PipelineError::Undecodable { .. } => FailureCode::UndecodableInput,
            PipelineError::Unsupported(_) => FailureCode::UnsupportedFormat,
            PipelineError::NoVideoStream => FailureCode::NoVideoStream,
            PipelineError::LimitsExceeded(_) => FailureCode::LimitsExceeded,
            PipelineError::Output { .. } => FailureCode::OutputIo,
            PipelineError::Encode(_) => FailureCode::EncodeFailed,
            PipelineError::Watermark(_) => FailureCode::WatermarkFailed,
            PipelineError::ProfileFile(_) => FailureCode::ProfileFileUnreadable,
            PipelineError::Subtitles(_) => FailureCode::InvalidSubtitles,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, PipelineError::Output { .. })
    }
}

use std::path::PathBuf;

use caravan_proto::FailureCode;
use caravan_queue::QueueError;
use caravan_store::StoreError;

/// Why a job did not finish. The job layer settles the delivery by [`JobError::is_retryable`]:
/// retryable → published again with backoff; permanent → failure record and dead letter.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(transparent)]
    Queue(#[from] QueueError),

    /// The pipeline itself reported a failure (undecodable input, limits exceeded …).
    #[error("{message}")]
    Pipeline {
        code: FailureCode,
        message: String,
        retryable: bool,
    },

    #[error("the stored master does not match its asset id (expected SHA-256 {expected}, got {actual}); it was damaged in transit or in the store: submit the file again")]
    MasterMismatch { expected: String, actual: String },

    #[error("the pipeline process died without reporting ({detail}); the master probably drives the decoder into a crash or past its address-space cap (derived from limits.memory_mib, {memory_mib} MiB)")]
    Crashed { detail: String, memory_mib: u64 },

    #[error("the pipeline held {used_mib} MiB of memory, more than limits.memory_mib ({limit_mib} MiB), and was stopped; raise the limit in the profile (and the worker's memory) if the master is genuine")]
    MemoryExceeded { used_mib: u64, limit_mib: u64 },

    #[error("the pipeline took longer than {seconds} s and was stopped; raise limits.timeout_seconds in the profile if the master is genuinely that long")]
    Timeout { seconds: u64 },

    #[error(
        "this worker has no profile named {0:?}; deploy the same profiles file to every worker"
    )]
    UnknownProfile(String),

    #[error("scratch space {path}: {source}; check free disk space on the worker")]
    Scratch {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the worker is shutting down and its grace period is over; the job goes back to the queue"
    )]
    Aborted,

    /// Content credentials could not be embedded.
    #[error(transparent)]
    Signing(caravan_trust::TrustError),

    #[error("cannot start the pipeline process {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl JobError {
    pub fn is_retryable(&self) -> bool {
        match self {
            JobError::Store(caravan_store::StoreError::Cancelled { .. }) => true,
            JobError::Store(e) => e.is_retryable(),
            JobError::Queue(e) => e.is_retryable(),
            JobError::Pipeline { retryable, .. } => *retryable,
            JobError::Signing(e) => e.is_retryable(),
            JobError::Scratch { .. } | JobError::Spawn { .. } | JobError::Aborted => true,
            JobError::MasterMismatch { .. }
            | JobError::Crashed { .. }
            | JobError::Timeout { .. }
            | JobError::MemoryExceeded { .. }
            | JobError::UnknownProfile(_) => false,
        }
    }

    /// A stable classification for events, failure records and metrics.
    pub fn code(&self) -> FailureCode {
        match self {
            JobError::Store(e) => e.code(),
            JobError::Queue(e) => e.code(),
            JobError::Pipeline { code, .. } => *code,
            JobError::Signing(e) => e.code(),
            JobError::MasterMismatch { .. } => FailureCode::MasterMismatch,
            JobError::Crashed { .. } => FailureCode::PipelineCrashed,
            JobError::Timeout { .. } => FailureCode::PipelineTimeout,
            JobError::MemoryExceeded { .. } => FailureCode::LimitsExceeded,
            JobError::UnknownProfile(_) => FailureCode::UnknownProfile,
            JobError::Scratch { .. } => FailureCode::ScratchIo,
            JobError::Spawn { .. } => FailureCode::PipelineSpawn,
            JobError::Aborted => FailureCode::WorkerShutdown,
        }
    }
}

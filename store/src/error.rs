use std::path::PathBuf;

use caravan_proto::FailureCode;

/// What went wrong talking to a store. [`StoreError::is_retryable`] tells the job layer whether
/// trying again later can help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {key} does not exist")]
    NotFound { key: String },

    #[error("object key {key:?} is not a valid relative key")]
    InvalidKey { key: String },

    #[error("cannot reach the store ({target}) during {operation}: {detail}; check that the S3 server is running and reachable, Caravan will retry")]
    Unavailable {
        target: String,
        operation: &'static str,
        detail: String,
    },

    #[error("the store refused {operation} of {key}: {detail}; check the bucket name and the key's permissions")]
    Refused {
        operation: &'static str,
        key: String,
        detail: String,
    },

    #[error("local file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("store configuration: {0}")]
    Config(String),

    #[error("the upload of {key} was cancelled (shutdown)")]
    Cancelled { key: String },
}

impl StoreError {
    /// True when the same operation may succeed later (server down, throttled, timed out).
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Unavailable { .. } => true,
            // A full or briefly unavailable local disk is worth another try; a missing
            // permission is not, but io::ErrorKind does not tell them apart reliably.
            StoreError::Io { source, .. } => !matches!(
                source.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::InvalidInput
                    | std::io::ErrorKind::InvalidData
            ),
            StoreError::NotFound { .. }
            | StoreError::InvalidKey { .. }
            | StoreError::Refused { .. }
            | StoreError::Config(_)
            | StoreError::Cancelled { .. } => false,
        }
    }

    /// A stable classification for events, receipts and metrics.
    pub fn code(&self) -> FailureCode {
        match self {
            StoreError::NotFound { .. } => FailureCode::StoreNotFound,
            StoreError::InvalidKey { .. } => FailureCode::StoreInvalidKey,
            StoreError::Unavailable { .. } => FailureCode::StoreUnavailable,
            StoreError::Refused { .. } => FailureCode::StoreRefused,
            StoreError::Io { .. } => FailureCode::LocalIo,
            StoreError::Config(_) => FailureCode::StoreConfig,
            StoreError::Cancelled { .. } => FailureCode::Cancelled,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

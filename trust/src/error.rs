//! Why signing or verifying could not go ahead.

use std::path::PathBuf;

use caravan_proto::FailureCode;

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// A key or certificate file is missing or unreadable: a configuration error, found when a
    /// process starts.
    #[error("signing key file {path}: {detail}; make one with `caravan keys generate <dir>` or point CARAVAN_SIGNING_KEY_FILE and CARAVAN_C2PA_CERT_FILE at yours")]
    KeyFile { path: PathBuf, detail: String },

    #[error("signing certificate: {0}")]
    Certificate(String),

    /// Content credentials could not be embedded in an output.
    #[error("cannot embed content credentials in {output}: {detail}; report it with the output's format and the receipt's tool versions")]
    Credentials { output: String, detail: String },

    #[error(transparent)]
    Store(#[from] caravan_store::StoreError),

    /// The transparency log in the store is not what it should be.
    #[error("the transparency log: {0}")]
    Log(String),
}

impl TrustError {
    /// The failure's entry in the catalogue.
    pub fn code(&self) -> FailureCode {
        match self {
            TrustError::KeyFile { .. } | TrustError::Certificate(_) => FailureCode::SigningFailed,
            TrustError::Credentials { .. } => FailureCode::SigningFailed,
            TrustError::Store(e) => e.code(),
            TrustError::Log(_) => FailureCode::SigningFailed,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, TrustError::Store(e) if e.is_retryable())
    }
}

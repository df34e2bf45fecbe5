use caravan_proto::FailureCode;

/// What went wrong with the queue. [`QueueError::is_retryable`] tells whether reconnecting and
/// trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot reach RabbitMQ at {target}: {detail}; check that the broker is running and the URL and credentials are right")]
    Unavailable { target: String, detail: String },

    #[error("RabbitMQ refused {operation}: {detail}")]
    Refused {
        operation: &'static str,
        detail: String,
    },

    #[error("the broker did not confirm the publish to {destination}; it will be published again")]
    NotConfirmed { destination: String },

    #[error("cannot encode message: {0}")]
    Encode(#[from] serde_json::Error),

    #[error("the queue was closed")]
    Closed,
}

impl QueueError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            QueueError::Unavailable { .. } | QueueError::NotConfirmed { .. }
        )
    }

    /// The failure's entry in the catalogue ([`FailureCode`]).
    pub fn code(&self) -> FailureCode {
        match self {
            QueueError::Unavailable { .. } => FailureCode::QueueUnavailable,
            QueueError::Refused { .. } => FailureCode::QueueRefused,
            QueueError::NotConfirmed { .. } => FailureCode::QueueNotConfirmed,
            QueueError::Encode(_) => FailureCode::QueueEncode,
            QueueError::Closed => FailureCode::QueueClosed,
        }
    }
}

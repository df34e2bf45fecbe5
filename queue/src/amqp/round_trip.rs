//! Every broker round-trip is bounded: a broker that accepts TCP but never answers (stuck,
//! overloaded, half-restarted) must not hang a worker or a scheduler. A timeout is a retryable
//! `Unavailable`, so callers reconnect and retry.

use std::time::Duration;

use crate::error::QueueError;

/// How long any one broker round-trip (connect, declare, publish confirm, settle, cancel) may
/// take; past it the connection is taken as lost and the caller reconnects (for a settle, the
/// broker then redelivers the message).
pub(super) const BROKER_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn timed_out(what: &str, target: &str) -> QueueError {
    QueueError::Unavailable {
        target: target.to_owned(),
        detail: format!(
            "no answer within {} s while {what}",
            BROKER_TIMEOUT.as_secs()
        ),
    }
}

pub(super) async fn within<T>(
    what: &'static str,
    target: &str,
    call: impl std::future::Future<Output = lapin::Result<T>>,
) -> Result<T, QueueError> {
    match tokio::time::timeout(BROKER_TIMEOUT, call).await {
        Ok(result) => result.map_err(|e| QueueError::Unavailable {
            target: target.to_owned(),
            detail: format!("{what}: {e}"),
        }),
        Err(_) => Err(timed_out(what, target)),
    }
}

/// Maps a failed declaration or binding to [`QueueError::Refused`] naming `operation`.
pub(super) fn refused(operation: &'static str) -> impl Fn(lapin::Error) -> QueueError {
    move |e| QueueError::Refused {
        operation,
        detail: e.to_string(),
    }
}

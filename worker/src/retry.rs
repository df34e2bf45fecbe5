//! The retry policy: a transient failure is published again after an exponential backoff with
//! jitter until the attempts run out; a permanent one (or the last attempt) is recorded and
//! dead-lettered; after the shutdown grace the delivery is handed back as it is.

use std::time::Duration;

use caravan_proto::{FailureCode, Job};
use tracing::{error, warn};

use crate::context::JobContext;
use crate::error::JobError;
use crate::report::{emit_failed, settle, store_failure};

/// Settles a failed job: retried later if the error is transient and attempts remain, otherwise
/// recorded as failed and dead-lettered.
pub(crate) async fn fail(
    ctx: &JobContext,
    job: &Job,
    handle: caravan_queue::DeliveryHandle,
    error: JobError,
) {
    let code = error.code();
    let message = error.to_string();
    if ctx.abort.is_cancelled() {
        warn!(
            code = code.as_str(),
            "Shutdown grace over; handing the job back to the queue"
        );
        emit_failed(ctx, job, code, message, true).await;
        settle(handle.requeue().await);
        return;
    }
    if error.is_retryable() && job.attempt < ctx.config.max_attempts {
        let delay = backoff(ctx.config.retry_base_delay, job.attempt);
        warn!(code = code.as_str(), error = %message, delay_ms = delay.as_millis() as u64, "Transient failure; will retry");
        ctx.metrics.job_retried(job.kind, code);
        emit_failed(ctx, job, code, message, true).await;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ctx.cancel.cancelled() => {
                settle(handle.requeue().await);
                return;
            }
        }
        let mut retry = job.clone();
        retry.attempt += 1;
        match ctx.queue.publish_job(&retry).await {
            Ok(()) => settle(handle.ack().await),
            Err(e) => {
                warn!(error = %e, "Could not publish the retry; handing the delivery back instead");
                settle(handle.requeue().await);
            }
        }
        return;
    }

    let (code, message) = if error.is_retryable() {
        (
            FailureCode::RetriesExhausted,
            format!(
                "gave up after {} attempts; last error ({code}): {message}",
                job.attempt
            ),
        )
    } else {
        (code, message)
    };
    error!(code = code.as_str(), error = %message, "Job failed permanently");
    ctx.metrics.job_failed(job.kind, code);
    if let Err(e) = store_failure(ctx, job, code, &message).await {
        warn!(error = %e, "Could not store the failure record; the event still carries the reason");
    }
    emit_failed(ctx, job, code, message, false).await;
    settle(handle.dead_letter().await);
}

/// Delay before retry number `attempt` (1-based) when the first is `base`: doubled per attempt,
/// capped at five minutes, plus up to a quarter of jitter.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(Duration::from_secs(300));
    let jitter = capped.mul_f64(fastrand::f64() * 0.25);
    capped + jitter
}

#[cfg(test)]
mod tests;

//! What a job tells the world: events for the scheduler's progress bar, the failure record
//! `caravan status` reads, and how its delivery was settled.

use caravan_proto::{keys, EventBody, FailureCode, FailureRecord, Job, JobEvent};
use chrono::Utc;
use tracing::warn;

use crate::context::JobContext;

pub(crate) async fn emit(ctx: &JobContext, job: &Job, body: EventBody) {
    let event = event(ctx, job, body);
    if let Err(e) = ctx.queue.publish_event(&event).await {
        warn!(error = %e, "Could not publish a job event; the store stays the source of truth");
    }
}

/// Reports that `job` failed with `code` (`retryable`: it will be tried again).
pub(crate) async fn emit_failed(
    ctx: &JobContext,
    job: &Job,
    code: FailureCode,
    message: String,
    retryable: bool,
) {
    let body = EventBody::Failed {
        code: code.into(),
        message,
        retryable,
    };
    emit(ctx, job, body).await;
}

pub(crate) fn event(ctx: &JobContext, job: &Job, body: EventBody) -> JobEvent {
    JobEvent {
        v: caravan_proto::PROTO_VERSION,
        job_id: job.job_id,
        batch_id: job.batch_id.clone(),
        asset_id: job.asset_id.clone(),
        worker: ctx.config.name.clone(),
        at: Utc::now(),
        body,
    }
}

/// Writes the failure record that `caravan status` reports for `job`.
pub(crate) async fn store_failure(
    ctx: &JobContext,
    job: &Job,
    code: FailureCode,
    message: &str,
) -> Result<(), caravan_store::StoreError> {
    let record = FailureRecord {
        v: caravan_proto::PROTO_VERSION,
        asset_id: job.asset_id.clone(),
        profile: job.profile.clone(),
        job_id: job.job_id,
        code: code.into(),
        message: message.to_owned(),
        attempt: job.attempt,
        worker: ctx.config.name.clone(),
        at: Utc::now(),
    };
    let body = serde_json::to_vec_pretty(&record).expect("failure records serialize");
    let key = keys::failure(&job.asset_id, &job.profile);
    ctx.store
        .put_bytes(&key, body, "application/json")
        .await
        .map(|_| ())
}

pub(crate) fn settle(result: Result<(), caravan_queue::QueueError>) {
    if let Err(e) = result {
        // The broker will redeliver; the receipt check makes the second run free.
        warn!(error = %e, "Could not settle the delivery; it will be redelivered and skipped");
    }
}

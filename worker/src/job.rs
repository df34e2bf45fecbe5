//! One delivery, from receipt check to acknowledgement.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use caravan_proto::exec::ExecRequest;
use caravan_proto::{
    keys, EventBody, FailureRecord, Job, JobEvent, MasterLocation, OutputRecord, Receipt,
};
use caravan_queue::{JobDelivery, Queue};
use caravan_store::Store;
use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn, Instrument};

use crate::lease::{self, Acquired};
use crate::{isolate, JobError, WorkerConfig};

/// What a job needs from its worker.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub store: Store,
    pub queue: Queue,
    pub config: Arc<WorkerConfig>,
    /// Shutdown was requested: do not start waiting (retry backoff) any more.
    pub cancel: CancellationToken,
    /// The shutdown grace is over: stop the job now and hand it back to the queue.
    pub abort: CancellationToken,
}

/// Handles one delivery and settles it. Never returns an error: every outcome is recorded in the
/// store, reported as an event, and settled on the queue.
pub async fn process(ctx: JobContext, delivery: JobDelivery) {
    let job = match delivery.job {
        Ok(job) => job,
        Err(reason) => {
            error!(%reason, "Dead-lettering a message that is not a job");
            if let Err(e) = delivery.handle.dead_letter().await {
                warn!(error = %e, "Could not dead-letter; the broker will redeliver it");
            }
            return;
        }
    };
    let span = tracing::info_span!("job", job_id = %job.job_id, asset_id = %job.asset_id, batch_id = %job.batch_id, attempt = job.attempt);
    process_job(ctx, job, delivery.handle, delivery.previous_deliveries)
        .instrument(span)
        .await;
}

async fn process_job(
    ctx: JobContext,
    job: Job,
    handle: caravan_queue::DeliveryHandle,
    previous_deliveries: u32,
) {
    let receipt_key = keys::receipt(&job.asset_id, &job.profile);
    // Idempotence: a redelivered or duplicated job whose receipt exists is done already.
    match ctx.store.size_of(&receipt_key).await {
        Ok(Some(_)) => {
            info!("Receipt exists; acknowledging without work");
            return succeed(&ctx, &job, handle, receipt_key, true).await;
        }
        Ok(None) => {}
        Err(e) => return fail(&ctx, &job, handle, JobError::Store(e)).await,
    }

    let lease = if ctx.config.leases {
        match lease::acquire(&ctx, &job).await {
            Ok(Acquired::Lease(lease)) => Some(lease),
            Ok(Acquired::Committed) => {
                info!("Another delivery committed this asset; acknowledging without work");
                return succeed(&ctx, &job, handle, receipt_key, true).await;
            }
            Err(e) => return fail(&ctx, &job, handle, e).await,
        }
    } else {
        None
    };
    process_leased(
        &ctx,
        &job,
        handle,
        previous_deliveries,
        receipt_key,
        lease.as_ref(),
    )
    .await;
    if let Some(lease) = lease {
        lease.release(&ctx).await;
    }
}

async fn process_leased(
    ctx: &JobContext,
    job: &Job,
    handle: caravan_queue::DeliveryHandle,
    previous_deliveries: u32,
    receipt_key: String,
    lease: Option<&lease::Lease>,
) {
    info!(previous_deliveries, "Job started");
    emit(
        ctx,
        job,
        EventBody::Started {
            attempt: job.attempt,
        },
    )
    .await;
    let started_at = Utc::now();
    match run(ctx, job, started_at, lease).await {
        Ok(Outcome::AlreadyCommitted) => succeed(ctx, job, handle, receipt_key, true).await,
        Ok(Outcome::Committed) => {
            info!("Job done");
            succeed(ctx, job, handle, receipt_key, false).await;
        }
        Err(e) => fail(ctx, job, handle, e).await,
    }
}

/// Reports success (`skipped`: the receipt existed, no work was done) and acknowledges.
async fn succeed(
    ctx: &JobContext,
    job: &Job,
    handle: caravan_queue::DeliveryHandle,
    receipt_key: String,
    skipped: bool,
) {
    let body = EventBody::Succeeded {
        receipt_key,
        skipped,
    };
    emit(ctx, job, body).await;
    settle(handle.ack().await);
}

/// Settles a failed job: retried later if the error is transient and attempts remain, otherwise
/// recorded as failed and dead-lettered.
async fn fail(ctx: &JobContext, job: &Job, handle: caravan_queue::DeliveryHandle, error: JobError) {
    let code = error.code();
    let message = error.to_string();
    if ctx.abort.is_cancelled() {
        warn!(
            code,
            "Shutdown grace over; handing the job back to the queue"
        );
        emit(
            ctx,
            job,
            EventBody::Failed {
                code,
                message,
                retryable: true,
            },
        )
        .await;
        settle(handle.requeue().await);
        return;
    }
    if error.is_retryable() && job.attempt < ctx.config.max_attempts {
        let delay = ctx.config.retry_delay(job.attempt);
        warn!(code, error = %message, delay_ms = delay.as_millis() as u64, "Transient failure; will retry");
        emit(
            ctx,
            job,
            EventBody::Failed {
                code,
                message,
                retryable: true,
            },
        )
        .await;
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
            "retries_exhausted".to_owned(),
            format!(
                "gave up after {} attempts; last error ({code}): {message}",
                job.attempt
            ),
        )
    } else {
        (code, message)
    };
    error!(code, error = %message, "Job failed permanently");
    if let Err(e) = store_failure(ctx, job, &code, &message).await {
        warn!(error = %e, "Could not store the failure record; the event still carries the reason");
    }
    emit(
        ctx,
        job,
        EventBody::Failed {
            code,
            message,
            retryable: false,
        },
    )
    .await;
    settle(handle.dead_letter().await);
}

/// Records why the broker dead-lettered a job, unless the job already has a receipt or a
/// failure record (a worker that fails a job permanently records it before dead-lettering).
pub async fn record_dead_letter(ctx: &JobContext, delivery: JobDelivery) {
    let Ok(job) = delivery.job else {
        settle(delivery.handle.ack().await);
        return;
    };
    let reason = delivery.death_reason.unwrap_or_else(|| "unknown".into());
    let recorded = async {
        if ctx
            .store
            .size_of(&keys::receipt(&job.asset_id, &job.profile))
            .await?
            .is_some()
        {
            return Ok::<bool, caravan_store::StoreError>(true);
        }
        let failure = ctx
            .store
            .get_bytes(&keys::failure(&job.asset_id, &job.profile))
            .await?;
        Ok(failure
            .and_then(|b| serde_json::from_slice::<FailureRecord>(&b).ok())
            .is_some_and(|f| f.job_id == job.job_id))
    }
    .await;
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            let (code, message) = match reason.as_str() {
                "delivery_limit" => (
                    "delivery_limit_exceeded",
                    format!(
                        "the broker gave up after delivering the job {} times without an acknowledgement: the workers processing it died or were stopped (crash, out-of-memory kill, consumer timeout){}; check that worker's logs for asset {}",
                        delivery.previous_deliveries.max(1),
                        last_holder(ctx, &job).await,
                        job.asset_id
                    ),
                ),
                other => ("dead_lettered", format!("the broker dead-lettered the job ({other})")),
            };
            error!(job_id = %job.job_id, asset_id = %job.asset_id, code, "Recording a dead-lettered job");
            if let Err(e) = store_failure(ctx, &job, code, &message).await {
                warn!(error = %e, "Could not record a dead-lettered job; it will be redelivered to the recorder");
                settle(delivery.handle.requeue().await);
                return;
            }
            emit(
                ctx,
                &job,
                EventBody::Failed {
                    code: code.to_owned(),
                    message,
                    retryable: false,
                },
            )
            .await;
        }
        Err(e) => {
            warn!(error = %e, "Cannot check a dead-lettered job; it will be redelivered to the recorder");
            settle(delivery.handle.requeue().await);
            return;
        }
    }
    settle(delivery.handle.ack().await);
}

/// ", last on worker X (lease last refreshed at T)", from the asset's claim, if one is left.
async fn last_holder(ctx: &JobContext, job: &Job) -> String {
    let claim = ctx
        .store
        .get_bytes(&keys::claim(&job.asset_id, &job.profile))
        .await;
    match claim
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice::<caravan_proto::Claim>(&b).ok())
    {
        Some(claim) => format!(
            ", last on worker {} (lease last refreshed at {})",
            claim.worker,
            claim.refreshed_at.to_rfc3339()
        ),
        None => String::new(),
    }
}

/// Writes the failure record that `caravan status` reports for `job`.
async fn store_failure(
    ctx: &JobContext,
    job: &Job,
    code: &str,
    message: &str,
) -> Result<(), caravan_store::StoreError> {
    let record = FailureRecord {
        v: caravan_proto::PROTO_VERSION,
        asset_id: job.asset_id.clone(),
        profile: job.profile.clone(),
        job_id: job.job_id,
        code: code.to_owned(),
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

fn settle(result: Result<(), caravan_queue::QueueError>) {
    if let Err(e) = result {
        // The broker will redeliver; the receipt check makes the second run free.
        warn!(error = %e, "Could not settle the delivery; it will be redelivered and skipped");
    }
}

async fn emit(ctx: &JobContext, job: &Job, body: EventBody) {
    let event = event(ctx, job, body);
    if let Err(e) = ctx.queue.publish_event(&event).await {
        warn!(error = %e, "Could not publish a job event; the store stays the source of truth");
    }
}

fn event(ctx: &JobContext, job: &Job, body: EventBody) -> JobEvent {
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

/// Fetches, runs, stores outputs and then the receipt.
/// How a successful run ended.
enum Outcome {
    Committed,
    /// A concurrent delivery of the same asset wrote the receipt first, or holds the asset now.
    AlreadyCommitted,
}

async fn run(
    ctx: &JobContext,
    job: &Job,
    started_at: chrono::DateTime<Utc>,
    lease: Option<&lease::Lease>,
) -> Result<Outcome, JobError> {
    let profile = ctx
        .config
        .profiles
        .get(&job.profile)
        .ok_or_else(|| JobError::UnknownProfile(job.profile.to_string()))?
        .clone();
    let scratch = Scratch::create(&ctx.config.scratch_dir, job).await?;
    let master = match &job.master {
        MasterLocation::LocalPath { path } => path.clone(),
        MasterLocation::Store { key } => {
            let path = scratch.path.join("master");
            let got = ctx.store.get_to_file(key, &path).await?;
            if got.sha256 != job.asset_id.as_str() {
                return Err(JobError::MasterMismatch {
                    expected: job.asset_id.to_string(),
                    actual: got.sha256,
                });
            }
            path
        }
    };
    let out_dir = scratch.path.join("out");
    tokio::fs::create_dir_all(&out_dir)
        .await
        .map_err(|source| JobError::Scratch {
            path: out_dir.clone(),
            source,
        })?;

    let request = ExecRequest {
        v: caravan_proto::PROTO_VERSION,
        kind: job.kind,
        input: master,
        out_dir: out_dir.clone(),
        asset_id: Some(job.asset_id.clone()),
        profile: profile.clone(),
        metadata: job.metadata.clone(),
    };
    let progress_ctx = ctx.clone();
    let progress_job = job.clone();
    let mut on_progress = move |percent: f32| {
        let ctx = progress_ctx.clone();
        let event = event(&ctx, &progress_job, EventBody::Progress { percent });
        tokio::spawn(async move {
            let _ = ctx.queue.publish_event(&event).await;
        });
    };
    let made = isolate::run(
        &ctx.config.isolation,
        &request,
        &mut on_progress,
        &ctx.abort,
    )
    .await?;

    let mut outputs = Vec::with_capacity(made.outputs.len());
    for output in &made.outputs {
        let key = keys::derivative(&job.asset_id, &job.profile, &output.name);
        let stored = ctx
            .store
            .put_file(
                &key,
                &out_dir.join(output.name.as_str()),
                &output.media_type,
                &ctx.abort,
            )
            .await?;
        outputs.push(OutputRecord {
            name: output.name.clone(),
            key,
            size: stored.size,
            sha256: stored.sha256,
            media_type: output.media_type.clone(),
            width: output.width,
            height: output.height,
            duration_seconds: output.duration_seconds,
        });
    }
    let receipt = Receipt {
        v: caravan_proto::PROTO_VERSION,
        asset_id: job.asset_id.clone(),
        kind: job.kind,
        master_size: job.master_size,
        master_media_type: job.media_type.clone(),
        profile: job.profile.clone(),
        outputs,
        parameters: profile,
        metadata: job.metadata.clone(),
        tools: made.tools,
        master_info: made.master_info,
        job_id: job.job_id,
        worker: ctx.config.name.clone(),
        started_at,
        finished_at: Utc::now(),
    };
    if ctx.config.failpoint == Some(crate::Failpoint::BeforeReceipt) {
        error!("Failpoint before_receipt: dying after the outputs, before the receipt");
        std::process::abort();
    }
    let body = serde_json::to_vec_pretty(&receipt).expect("receipts serialize");
    if let Some(lease) = lease {
        if !lease.still_held(ctx).await? {
            info!("Another worker took this asset over while we were silent; it commits, we stand down");
            return Ok(Outcome::AlreadyCommitted);
        }
    }
    // The commit point: written only now that every output it lists is stored, and only once.
    let receipt_key = keys::receipt(&job.asset_id, &job.profile);
    if !ctx
        .store
        .put_bytes_if_absent(&receipt_key, body, "application/json")
        .await?
    {
        info!("Another worker committed this asset first; its receipt stands");
        return Ok(Outcome::AlreadyCommitted);
    }
    // A failure record from an earlier attempt (with other limits, say) no longer applies.
    if let Err(e) = ctx
        .store
        .delete(&keys::failure(&job.asset_id, &job.profile))
        .await
    {
        warn!(error = %e, "Could not remove an old failure record; the receipt takes precedence");
    }
    Ok(Outcome::Committed)
}

/// A job's scratch directory, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    async fn create(root: &Path, job: &Job) -> Result<Self, JobError> {
        let path = root.join(format!("{}-{}", job.job_id, job.attempt));
        tokio::fs::create_dir_all(&path)
            .await
            .map_err(|source| JobError::Scratch {
                path: path.clone(),
                source,
            })?;
        Ok(Self { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                warn!(path = %self.path.display(), error = %e, "Could not remove scratch directory");
            }
        }
    }
}

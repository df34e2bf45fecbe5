//! One delivery, from receipt check to acknowledgement: skip what has a receipt, take the
//! asset's lease, fetch the master, run the pipeline in its child process, store every output,
//! then the receipt (the commit point), then report and settle.

use caravan_proto::exec::ExecRequest;
use caravan_proto::{keys, EventBody, Job, MasterLocation, OutputRecord, Receipt};
use caravan_queue::{DeliveryHandle, JobDelivery};
use chrono::Utc;
use tokio::time::Instant;
use tracing::{error, info, warn, Instrument};

use crate::config::Failpoint;
use crate::context::JobContext;
use crate::error::JobError;
use crate::isolate;
use crate::lease::{Acquired, Lease};
use crate::report::{emit, event, settle};
use crate::retry::fail;
use crate::scratch::Scratch;
use crate::signing::{self, Credentialed};
use crate::telemetry::metrics::Stage;

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

async fn process_job(ctx: JobContext, job: Job, handle: DeliveryHandle, previous_deliveries: u32) {
    let receipt_key = keys::receipt(&job.asset_id, &job.profile);
    // Idempotence: a redelivered or duplicated job whose receipt exists is done already.
    match ctx.store.size_of(&receipt_key).await {
        Ok(Some(_)) => {
            info!("Receipt exists; acknowledging without work");
            return succeed_existing(&ctx, &job, handle, receipt_key).await;
        }
        Ok(None) => {}
        Err(e) => return fail(&ctx, &job, handle, JobError::Store(e)).await,
    }

    let lease = if let Some(leases) = &ctx.leases {
        match leases.acquire(&job, &ctx.abort).await {
            Ok(Acquired::Lease(lease)) => Some(lease),
            Ok(Acquired::Committed) => {
                info!("Another delivery committed this asset; acknowledging without work");
                return succeed_existing(&ctx, &job, handle, receipt_key).await;
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
        lease.release().await;
    }
}

async fn process_leased(
    ctx: &JobContext,
    job: &Job,
    handle: DeliveryHandle,
    previous_deliveries: u32,
    receipt_key: String,
    lease: Option<&Lease>,
) {
    // Shutdown came between the delivery and here (a receipt check and a lease away): the
    // promise is that nothing starts after the signal, so the job goes back untouched.
    if ctx.cancel.is_cancelled() {
        info!("Shutdown requested before the job started; handing it back to the queue");
        settle(handle.requeue().await);
        return;
    }
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
    ctx.metrics.job_started(job.kind);
    let clock = Instant::now();
    let outcome = run(ctx, job, started_at, lease).await;
    ctx.metrics.job_ended(job.kind, clock.elapsed());
    match outcome {
        Ok(Outcome::AlreadyCommitted) => succeed_existing(ctx, job, handle, receipt_key).await,
        Ok(Outcome::Committed) => {
            info!("Job done");
            ctx.metrics.job_succeeded(job.kind);
            succeed(ctx, job, handle, receipt_key, false).await;
        }
        Err(e) => fail(ctx, job, handle, e).await,
    }
}

/// Reports success (`skipped`: the receipt existed, no work was done) and acknowledges.
async fn succeed(
    ctx: &JobContext,
    job: &Job,
    handle: DeliveryHandle,
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

/// A receipt exists (this delivery did no work): completes its signing if its worker died
/// before finishing that, then reports success.
async fn succeed_existing(
    ctx: &JobContext,
    job: &Job,
    handle: DeliveryHandle,
    receipt_key: String,
) {
    match signing::complete(ctx, &receipt_key).await {
        Ok(()) => {
            ctx.metrics.job_skipped(job.kind);
            succeed(ctx, job, handle, receipt_key, true).await
        }
        Err(e) => fail(ctx, job, handle, e).await,
    }
}

/// Counts the bytes a job holds in scratch while it runs, and frees them from the gauge when the
/// job's scratch goes (however the job ends).
struct ScratchMeter<'a> {
    ctx: &'a JobContext,
    bytes: u64,
}

impl<'a> ScratchMeter<'a> {
    fn new(ctx: &'a JobContext) -> Self {
        Self { ctx, bytes: 0 }
    }

    fn add(&mut self, bytes: u64) {
        self.bytes += bytes;
        self.ctx.metrics.scratch(bytes as i64);
    }
}

impl Drop for ScratchMeter<'_> {
    fn drop(&mut self) {
        self.ctx.metrics.scratch(-(self.bytes as i64));
    }
}

/// How a successful run ended.
enum Outcome {
    Committed,
    /// A concurrent delivery of the same asset wrote the receipt first, or holds the asset now.
    AlreadyCommitted,
}

/// Fetches, runs, stores outputs and then the receipt.
async fn run(
    ctx: &JobContext,
    job: &Job,
    started_at: chrono::DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<Outcome, JobError> {
    let profile = ctx
        .config
        .profiles
        .get(&job.profile)
        .ok_or_else(|| JobError::UnknownProfile(job.profile.to_string()))?
        .clone();
    let scratch = Scratch::create(&ctx.config.scratch_dir, job).await?;
    let mut held = ScratchMeter::new(ctx);
    let stage = Instant::now();
    let master = match &job.master {
        MasterLocation::LocalPath { path } => path.clone(),
        MasterLocation::Store { key } => {
            let path = scratch.path.join("master");
            let got = ctx.store.get_to_file(key, &path).await?;
            ctx.metrics.fetched(got.size);
            held.add(got.size);
            ctx.metrics.stage(job.kind, Stage::Fetch, stage.elapsed());
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

    let subtitles = fetch_sidecars(ctx, job, &scratch.path).await?;
    let request = ExecRequest {
        v: caravan_proto::PROTO_VERSION,
        kind: job.kind,
        input: master,
        out_dir: out_dir.clone(),
        asset_id: Some(job.asset_id.clone()),
        profile: profile.clone(),
        metadata: job.metadata.clone(),
        signed: ctx.config.signer.is_some(),
        subtitles,
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
    let stage = Instant::now();
    let made = isolate::parent::run(
        &ctx.config.isolation,
        &request,
        &mut on_progress,
        &ctx.abort,
    )
    .await?;
    ctx.metrics
        .stage(job.kind, Stage::Pipeline, stage.elapsed());

    let credentialed = match &ctx.config.signer {
        Some(signer) => {
            let stage = Instant::now();
            let done = signing::credential_outputs(signer, job, &profile, &made, &out_dir).await?;
            ctx.metrics
                .stage(job.kind, Stage::Credentials, stage.elapsed());
            done
        }
        None => vec![Credentialed::default(); made.outputs.len()],
    };
    let uploads = Instant::now();
    let mut outputs = Vec::with_capacity(made.outputs.len());
    for (output, credentialed) in made.outputs.iter().zip(credentialed) {
        let key = keys::derivative(&job.asset_id, &job.profile, &output.name);
        let upload = Instant::now();
        let stored = ctx
            .store
            .put_file(
                &key,
                &out_dir.join(output.name.as_str()),
                &output.media_type,
                &ctx.abort,
            )
            .await?;
        ctx.metrics.uploaded(stored.size, upload.elapsed());
        held.add(stored.size);
        outputs.push(OutputRecord {
            name: output.name.clone(),
            key,
            size: stored.size,
            sha256: stored.sha256,
            media_type: output.media_type.clone(),
            width: output.width,
            height: output.height,
            duration_seconds: output.duration_seconds,
            content_sha256: credentialed.content_sha256,
            content_credentials: credentialed.content_credentials,
        });
    }
    ctx.metrics
        .stage(job.kind, Stage::Upload, uploads.elapsed());
    let commit = Instant::now();
    let mut receipt = Receipt {
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
        signed_by: None,
    };
    if ctx.config.failpoint == Some(Failpoint::BeforeReceipt) {
        error!("Failpoint before_receipt: dying after the outputs, before the receipt");
        std::process::abort();
    }
    let outputs_count = receipt.outputs.len();
    let (body, signature) = signing::seal(ctx, &mut receipt);
    if let Some(lease) = lease {
        if !lease.still_held().await? {
            info!("Another worker took this asset over while we were silent; it commits, we stand down");
            return Ok(Outcome::AlreadyCommitted);
        }
    }
    // The commit point: written only now that every output it lists is stored, and only once.
    // (The fault suite counts "Receipt committed" per asset: a receipt written twice is work
    // done twice; "Committing" without it is an attempt a kill cut short.)
    info!(outputs = outputs_count, "Committing the receipt");
    let receipt_key = keys::receipt(&job.asset_id, &job.profile);
    if !ctx
        .store
        .put_bytes_if_absent(&receipt_key, body.clone(), "application/json")
        .await?
    {
        info!("Another worker committed this asset first; its receipt stands");
        return Ok(Outcome::AlreadyCommitted);
    }
    info!(receipt_key = %receipt_key, "Receipt committed");
    if ctx.config.failpoint == Some(Failpoint::AfterReceipt) {
        error!("Failpoint after_receipt: dying after the receipt, before its signature");
        std::process::abort();
    }
    if let Some(signature) = &signature {
        signing::after_commit(ctx, &receipt_key, &body, signature).await?;
    }
    ctx.metrics.stage(job.kind, Stage::Commit, commit.elapsed());
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

#[cfg(test)]
mod tests;

/// The job's subtitle files on local disk (fetched into the scratch folder from the store),
/// each checked against the SHA-256 the scheduler hashed.
async fn fetch_sidecars(
    ctx: &JobContext,
    job: &Job,
    scratch: &std::path::Path,
) -> Result<Vec<caravan_proto::exec::SubtitleInput>, JobError> {
    let mut fetched = Vec::with_capacity(job.subtitles.len());
    for (i, sidecar) in job.subtitles.iter().enumerate() {
        let (path, sha256) = match &sidecar.location {
            MasterLocation::LocalPath { path } => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|source| JobError::Scratch {
                        path: path.clone(),
                        source,
                    })?;
                (
                    path.clone(),
                    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                )
            }
            MasterLocation::Store { key } => {
                let path = scratch.join(format!("subtitles-{i}"));
                let got = ctx.store.get_to_file(key, &path).await?;
                (path, got.sha256)
            }
        };
        if sha256 != sidecar.sha256 {
            return Err(JobError::MasterMismatch {
                expected: format!("{} of {}", sidecar.sha256, sidecar.source_name),
                actual: sha256,
            });
        }
        fetched.push(caravan_proto::exec::SubtitleInput {
            language: sidecar.language.clone(),
            format: sidecar.format,
            path,
            source_name: sidecar.source_name.clone(),
            sha256,
        });
    }
    Ok(fetched)
}

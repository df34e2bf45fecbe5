//! Jobs the broker dead-lettered (its delivery limit reached: the workers processing the job kept
//! dying): a worker watching `<prefix>.dead.watch` records a failure for each, unless the job has
//! a receipt or already recorded its own failure, so `caravan status` shows why.

use std::time::Duration;

use caravan_proto::{keys, FailureCode, FailureRecord, Job};
use caravan_queue::JobDelivery;
use tracing::{error, warn};

use crate::context::JobContext;
use crate::report::{emit_failed, settle, store_failure};

/// Records a failure for each job the broker dead-letters, reconnecting as needed.
pub(crate) async fn record_dead_letters(ctx: JobContext) {
    let mut delay = Duration::from_millis(500);
    loop {
        let mut stream = match ctx.queue.consume_dead_letters().await {
            Ok(Some(stream)) => stream,
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "Cannot watch dead letters; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        delay = Duration::from_millis(500);
        while let Some(delivery) = stream.next().await {
            match delivery {
                Ok(delivery) => record_dead_letter(&ctx, delivery).await,
                Err(e) => {
                    warn!(error = %e, "Lost the dead-letter stream; reconnecting");
                    break;
                }
            }
        }
    }
}

/// Records why the broker dead-lettered a job, unless the job already has a receipt or a
/// failure record (a worker that fails a job permanently records it before dead-lettering).
async fn record_dead_letter(ctx: &JobContext, delivery: JobDelivery) {
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
    // Every message the broker dead-lettered, recorded here or by the job itself.
    ctx.metrics.dead_lettered(&reason);
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            let (code, message) = match reason.as_str() {
                "delivery_limit" => (
                    FailureCode::DeliveryLimitExceeded,
                    format!(
                        "the broker gave up after delivering the job {} times without an acknowledgement: the workers processing it died or were stopped (crash, out-of-memory kill, consumer timeout){}; check that worker's logs for asset {}",
                        delivery.previous_deliveries.max(1),
                        last_holder(ctx, &job).await,
                        job.asset_id
                    ),
                ),
                other => (FailureCode::DeadLettered, format!("the broker dead-lettered the job ({other})")),
            };
            error!(job_id = %job.job_id, asset_id = %job.asset_id, code = code.as_str(), "Recording a dead-lettered job");
            if let Err(e) = store_failure(ctx, &job, code, &message).await {
                warn!(error = %e, "Could not record a dead-lettered job; it will be redelivered to the recorder");
                settle(delivery.handle.requeue().await);
                return;
            }
            emit_failed(ctx, &job, code, message, false).await;
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

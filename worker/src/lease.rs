//! Leases: at most one worker processes an asset at a time, even when the broker delivers it
//! twice (a job published twice; a redelivery racing a slow original).
//!
//! S3-compatible servers do not all honour conditional writes, so the lease is built from plain
//! writes: read the claim; if nobody fresh holds it, write ours, wait a moment and read it back.
//! Of two workers that both wrote, both read the last write, so one proceeds. The holder
//! refreshes its claim while it works and deletes it at the end; a claim not refreshed for
//! [`STALE_AFTER`] belongs to a dead worker. A redelivery of the very job a claim names means
//! its holder's connection died (the broker redelivers only then), so it takes over at once.

use std::time::Duration;

use caravan_proto::{keys, Claim, Job};
use chrono::Utc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::job::JobContext;
use crate::JobError;

const SETTLE: Duration = Duration::from_millis(300);
const REFRESH_EVERY: Duration = Duration::from_secs(10);
const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
const POLL_EVERY: Duration = Duration::from_secs(2);

/// A held lease; refreshed until released.
#[derive(Debug)]
pub(crate) struct Lease {
    key: String,
    refresher: JoinHandle<()>,
}

/// What waiting for a lease ended in.
pub(crate) enum Acquired {
    Lease(Lease),
    /// Another delivery committed the asset while we waited.
    Committed,
}

/// Takes the lease on `job`'s asset, waiting while another live worker holds it.
pub(crate) async fn acquire(
    ctx: &JobContext,
    job: &Job,
    previous_deliveries: u32,
) -> Result<Acquired, JobError> {
    let key = keys::claim(&job.asset_id, &job.profile);
    let receipt = keys::receipt(&job.asset_id, &job.profile);
    let token = Uuid::new_v4();
    loop {
        let held_by_other = match read(ctx, &key).await? {
            Some(claim) => {
                let fresh = Utc::now() - claim.refreshed_at < STALE_AFTER;
                let holder_died = claim.job_id == job.job_id && previous_deliveries > 0;
                claim.token != token && fresh && !holder_died
            }
            None => false,
        };
        if !held_by_other {
            write(ctx, &key, token, job).await?;
            tokio::time::sleep(SETTLE).await;
            if read(ctx, &key).await?.is_some_and(|c| c.token == token) {
                let refresher = tokio::spawn(refresh(ctx.clone(), key.clone(), token, job.clone()));
                return Ok(Acquired::Lease(Lease { key, refresher }));
            }
        }
        tracing::info!("Another worker holds this asset; waiting for its receipt");
        tokio::select! {
            _ = tokio::time::sleep(POLL_EVERY) => {}
            _ = ctx.abort.cancelled() => return Err(JobError::Aborted),
        }
        if ctx.store.size_of(&receipt).await?.is_some() {
            return Ok(Acquired::Committed);
        }
    }
}

impl Lease {
    /// Stops refreshing and removes the claim.
    pub(crate) async fn release(self, ctx: &JobContext) {
        self.refresher.abort();
        if let Err(e) = ctx.store.delete(&self.key).await {
            tracing::warn!(error = %e, "Could not remove a claim; it goes stale on its own");
        }
    }
}

async fn read(ctx: &JobContext, key: &str) -> Result<Option<Claim>, JobError> {
    let bytes = ctx.store.get_bytes(key).await?;
    Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
}

async fn write(ctx: &JobContext, key: &str, token: Uuid, job: &Job) -> Result<(), JobError> {
    let claim = Claim {
        v: caravan_proto::PROTO_VERSION,
        token,
        job_id: job.job_id,
        worker: ctx.config.name.clone(),
        refreshed_at: Utc::now(),
    };
    let body = serde_json::to_vec(&claim).expect("claims serialize");
    ctx.store.put_bytes(key, body, "application/json").await?;
    Ok(())
}

async fn refresh(ctx: JobContext, key: String, token: Uuid, job: Job) {
    loop {
        tokio::time::sleep(REFRESH_EVERY).await;
        if let Err(e) = write(&ctx, &key, token, &job).await {
            tracing::warn!(error = %e, "Could not refresh the claim");
        }
    }
}

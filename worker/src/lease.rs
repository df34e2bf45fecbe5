//! Leases: at most one worker processes an asset at a time, even when the broker delivers it
//! twice (a job published twice; a redelivery racing a slow original).
//!
//! Where the store creates objects atomically (a folder; an S3 server honouring
//! `If-None-Match`), a claim nobody holds is taken by creating it, at no extra cost. S3-compatible
//! servers do not all honour conditional writes, so elsewhere the lease is built from plain
//! writes: read the claim; if nobody fresh holds it, write ours, wait a moment and read it back.
//! Of two workers that both wrote, both read the last write, so one proceeds. The holder
//! refreshes its claim every [`REFRESH_EVERY`] while it works and deletes it at the end. A
//! waiter takes over a claim only after watching it stay unchanged for [`STALE_AFTER`] on its own
//! clock (so clock skew between hosts does not matter): its holder is dead. A redelivery alone
//! proves nothing — after a broker restart the holder is alive and still working. Before it
//! commits, the holder checks the claim is still its own ([`Lease::still_held`]).

use std::time::Duration;

use tokio::time::Instant;

use caravan_proto::{keys, Claim, Job};
use caravan_store::Store;
use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::JobError;

const SETTLE: Duration = Duration::from_millis(300);
const REFRESH_EVERY: Duration = Duration::from_secs(3);
const STALE_AFTER: Duration = Duration::from_secs(9);
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Where leases are kept and who takes them: the store, and the worker's name (shown in
/// claims, so an operator sees who holds an asset).
#[derive(Debug, Clone)]
pub struct Leases {
    store: Store,
    worker: String,
    metrics: std::sync::Arc<crate::telemetry::Metrics>,
}

/// A held lease; refreshed until released.
#[derive(Debug)]
pub(crate) struct Lease {
    leases: Leases,
    key: String,
    token: Uuid,
    refresher: JoinHandle<()>,
}

/// What waiting for a lease ended in.
pub(crate) enum Acquired {
    Lease(Lease),
    /// Another delivery committed the asset while we waited.
    Committed,
}

impl Leases {
    pub fn new(
        store: Store,
        worker: String,
        metrics: std::sync::Arc<crate::telemetry::Metrics>,
    ) -> Self {
        Self {
            store,
            worker,
            metrics,
        }
    }

    /// Takes the lease on `job`'s asset, waiting while another live worker holds it; gives up with
    /// [`JobError::Aborted`] when `abort` fires.
    pub(crate) async fn acquire(
        &self,
        job: &Job,
        abort: &CancellationToken,
    ) -> Result<Acquired, JobError> {
        let key = keys::claim(&job.asset_id, &job.profile);
        let receipt = keys::receipt(&job.asset_id, &job.profile);
        let token = Uuid::new_v4();
        // The other holder's claim as last seen, and since when (on this worker's clock).
        let mut watched: Option<(Claim, Instant)> = None;
        let mut create_refused = false;
        loop {
            // (held by another live worker, held by another that went silent)
            let (held_by_other, stale) = match self.read(&key).await? {
                Some(claim) if claim.token != token => {
                    let unchanged_since = match &watched {
                        Some((seen, since)) if *seen == claim => *since,
                        _ => Instant::now(),
                    };
                    let alive = unchanged_since.elapsed() < STALE_AFTER;
                    watched = Some((claim, unchanged_since));
                    (alive, !alive)
                }
                _ => (false, false),
            };
            if !held_by_other {
                let created = match stale || create_refused {
                    false => self.create(&key, token, job).await?,
                    true => None,
                };
                if created == Some(false) {
                    // Another worker created it just now (look at it again), or an unreadable
                    // claim is in the way (the plain path writes over it).
                    create_refused = true;
                    continue;
                }
                if stale {
                    tracing::info!("Taking over the lease of a worker that went silent");
                    self.metrics.lease_taken_over();
                }
                let held = match created {
                    Some(_) => true,
                    None => {
                        self.write(&key, token, job).await?;
                        tokio::time::sleep(SETTLE).await;
                        self.read(&key).await?.is_some_and(|c| c.token == token)
                    }
                };
                if held {
                    let refresher =
                        tokio::spawn(self.clone().refresh(key.clone(), token, job.clone()));
                    let lease = Lease {
                        leases: self.clone(),
                        key,
                        token,
                        refresher,
                    };
                    // A holder that committed and released between our receipt check and our
                    // claim: its work stands.
                    if self.store.size_of(&receipt).await?.is_some() {
                        lease.release().await;
                        return Ok(Acquired::Committed);
                    }
                    return Ok(Acquired::Lease(lease));
                }
            }
            tracing::info!("Another worker holds this asset; waiting for its receipt");
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = abort.cancelled() => return Err(JobError::Aborted),
            }
            if self.store.size_of(&receipt).await?.is_some() {
                return Ok(Acquired::Committed);
            }
        }
    }

    async fn read(&self, key: &str) -> Result<Option<Claim>, JobError> {
        let bytes = self.store.get_bytes(key).await?;
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    async fn write(&self, key: &str, token: Uuid, job: &Job) -> Result<(), JobError> {
        let body = self.claim(token, job);
        self.store.put_bytes(key, body, "application/json").await?;
        Ok(())
    }

    /// The fast path, where the store creates objects atomically (a folder; an S3 server that
    /// honours `If-None-Match`): the claim is created only if there is none, and then it is
    /// ours, with no settle. `None`: the store cannot, nothing written.
    async fn create(&self, key: &str, token: Uuid, job: &Job) -> Result<Option<bool>, JobError> {
        let body = self.claim(token, job);
        Ok(self
            .store
            .create_exclusive(key, body, "application/json")
            .await?)
    }

    fn claim(&self, token: Uuid, job: &Job) -> Vec<u8> {
        let claim = Claim {
            v: caravan_proto::PROTO_VERSION,
            token,
            job_id: job.job_id,
            worker: self.worker.clone(),
            refreshed_at: Utc::now(),
        };
        serde_json::to_vec(&claim).expect("claims serialize")
    }

    async fn refresh(self, key: String, token: Uuid, job: Job) {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            if let Err(e) = self.write(&key, token, &job).await {
                tracing::warn!(error = %e, "Could not refresh the claim");
            }
        }
    }
}

impl Lease {
    /// Whether the claim is still this lease's (nobody took it over as stale).
    pub(crate) async fn still_held(&self) -> Result<bool, JobError> {
        Ok(self
            .leases
            .read(&self.key)
            .await?
            .is_some_and(|c| c.token == self.token))
    }

    /// Stops refreshing and removes the claim, if it is still ours.
    pub(crate) async fn release(self) {
        self.refresher.abort();
        if !matches!(self.still_held().await, Ok(true)) {
            return;
        }
        if let Err(e) = self.leases.store.delete(&self.key).await {
            tracing::warn!(error = %e, "Could not remove a claim; it goes stale on its own");
        }
    }
}

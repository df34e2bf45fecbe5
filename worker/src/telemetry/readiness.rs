//! Whether the worker is ready for work: consuming from the broker, the broker and the store
//! answering (probed every 2 s), and not draining. Live (the process answers) is `/healthz`; ready is `/readyz`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use caravan_queue::Queue;
use caravan_store::Store;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::Metrics;

/// How often, and how patiently, the store is probed.
const PROBE_EVERY: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared by the consume loop (broker, draining), the store probe and the endpoints.
#[derive(Debug, Default)]
pub struct Readiness {
    consuming: AtomicBool,
    broker_ok: AtomicBool,
    store_ok: AtomicBool,
    draining: AtomicBool,
}

impl Readiness {
    pub fn set_consuming(&self, consuming: bool) {
        self.consuming.store(consuming, Ordering::SeqCst);
    }

    pub fn set_broker_ok(&self, ok: bool) -> bool {
        self.broker_ok.swap(ok, Ordering::SeqCst)
    }

    pub fn set_store_ok(&self, ok: bool) -> bool {
        self.store_ok.swap(ok, Ordering::SeqCst)
    }

    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Ready, or the reasons it is not (for `/readyz`'s body).
    pub fn check(&self) -> Result<(), Vec<&'static str>> {
        let mut not = Vec::new();
        if self.draining.load(Ordering::SeqCst) {
            not.push("draining: shutting down, taking no new jobs");
        }
        if !self.consuming.load(Ordering::SeqCst) {
            not.push("not consuming: the broker is unreachable or the job stream was lost");
        }
        if !self.broker_ok.load(Ordering::SeqCst) {
            not.push("the broker does not answer");
        }
        if !self.store_ok.load(Ordering::SeqCst) {
            not.push("the store does not answer");
        }
        if not.is_empty() {
            Ok(())
        } else {
            Err(not)
        }
    }

    /// Probes the store (a `HEAD` of a key that need not exist) and the broker (its connection,
    /// re-opened if lost) until `cancel` fires. A busy worker notices a lost job stream only
    /// when a slot frees; the probe does not wait for that.
    pub async fn probe(
        self: Arc<Self>,
        store: Store,
        queue: Queue,
        metrics: Arc<Metrics>,
        cancel: CancellationToken,
    ) {
        loop {
            let answered = tokio::time::timeout(PROBE_TIMEOUT, store.size_of("health/probe")).await;
            let ok = matches!(answered, Ok(Ok(_)));
            if self.set_store_ok(ok) && !ok {
                warn!(store = %store.describe(), "The store does not answer; the worker reports not ready");
            }
            let answered = tokio::time::timeout(PROBE_TIMEOUT, queue.probe()).await;
            let ok = matches!(answered, Ok(Ok(())));
            if self.set_broker_ok(ok) && !ok {
                warn!("The broker does not answer; the worker reports not ready");
            }
            metrics.set_ready(self.check().is_ok());
            tokio::select! {
                _ = tokio::time::sleep(PROBE_EVERY) => {}
                _ = cancel.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;

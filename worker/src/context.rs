//! What a job needs from its worker.

use std::sync::Arc;

use caravan_queue::Queue;
use caravan_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::lease::Leases;
use crate::telemetry::Metrics;

/// What a job needs from its worker.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub store: Store,
    pub queue: Queue,
    pub config: Arc<WorkerConfig>,
    /// Leases on assets in the store (cluster mode); `None` with the in-process queue, which
    /// never delivers a job twice.
    pub leases: Option<Leases>,
    /// Shutdown was requested: do not start waiting (retry backoff) any more.
    pub cancel: CancellationToken,
    /// The shutdown grace is over: stop the job now and hand it back to the queue.
    pub abort: CancellationToken,
    pub metrics: Arc<Metrics>,
}

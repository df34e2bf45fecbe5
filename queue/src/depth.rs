//! What `caravan status` shows of the broker: each queue's backlog and consumers.

use caravan_proto::JobKind;

/// One queue's backlog as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    /// The job kind the queue holds; `None` for the dead-letter queue.
    pub kind: Option<JobKind>,
    pub queue: String,
    /// Messages ready for a consumer (not those being worked on).
    pub ready: u32,
    /// Consumers attached: one per worker process consuming this kind.
    pub consumers: u32,
}

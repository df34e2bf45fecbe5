//! The transparency log's request queue, in-process: one consumer (the embedded sequencer),
//! requests handed back when a delivery is dropped unsettled, the stream ending once the queue
//! is closed and drained.

use caravan_proto::LogRequest;

use crate::memory::MemoryQueue;

/// Log requests from a [`MemoryQueue`].
#[derive(Debug)]
pub struct MemoryLogStream {
    pub(crate) queue: MemoryQueue,
}

impl MemoryLogStream {
    /// The next request; `None` once the queue is closed and no request is left.
    pub(crate) async fn next(&mut self) -> Option<(LogRequest, MemoryLogHandle)> {
        loop {
            let changed = self.queue.changed().notified();
            if let Some(next) = self.queue.pop_log() {
                let handle = MemoryLogHandle {
                    queue: self.queue.clone(),
                    request: Some(next.clone()),
                };
                return Some((next, handle));
            }
            if self.queue.is_closed() {
                return None;
            }
            changed.await;
        }
    }
}

/// Settles one in-process log request. Dropped unsettled, the request goes back to the front.
#[derive(Debug)]
pub struct MemoryLogHandle {
    queue: MemoryQueue,
    request: Option<LogRequest>,
}

impl MemoryLogHandle {
    pub(crate) fn ack(mut self) {
        self.request = None;
    }

    pub(crate) fn requeue(mut self) {
        if let Some(request) = self.request.take() {
            self.queue.push_log(request, true);
        }
    }
}

impl Drop for MemoryLogHandle {
    fn drop(&mut self) {
        if let Some(request) = self.request.take() {
            self.queue.push_log(request, true);
        }
    }
}

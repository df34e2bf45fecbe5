//! An in-process queue for embedded mode: the same semantics as the broker (ack, requeue,
//! dead letter, redelivery count) without one.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use caravan_proto::{BatchId, Job, JobEvent, JobKind, LogRequest};
use tokio::sync::{mpsc, Notify};

use crate::error::QueueError;

#[derive(Debug)]
struct Envelope {
    job: Job,
    deliveries: u32,
}

#[derive(Debug, Default)]
struct State {
    ready: HashMap<JobKind, VecDeque<Envelope>>,
    dead: Vec<Job>,
    acked: Vec<Job>,
    events: HashMap<BatchId, mpsc::UnboundedSender<JobEvent>>,
    log: VecDeque<LogRequest>,
    closed: bool,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    changed: Notify,
}

/// Cheap to clone; clones share the queue.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueue {
    inner: Arc<Inner>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn publish_job(&self, job: Job) -> Result<(), QueueError> {
        self.push(Envelope { job, deliveries: 0 }, false)
    }

    fn push(&self, envelope: Envelope, front: bool) -> Result<(), QueueError> {
        {
            let mut state = self.inner.state.lock().expect("queue state poisoned");
            if state.closed {
                return Err(QueueError::Closed);
            }
            let queue = state.ready.entry(envelope.job.kind).or_default();
            if front {
                queue.push_front(envelope);
            } else {
                queue.push_back(envelope);
            }
        }
        self.inner.changed.notify_waiters();
        Ok(())
    }

    pub(crate) fn consume_jobs(&self, kinds: &[JobKind]) -> MemoryJobStream {
        MemoryJobStream {
            queue: self.clone(),
            kinds: kinds.to_vec(),
        }
    }

    pub(crate) fn publish_log_request(&self, request: LogRequest) -> Result<(), QueueError> {
        if self.is_closed() {
            return Err(QueueError::Closed);
        }
        self.push_log(request, false);
        Ok(())
    }

    pub(crate) fn push_log(&self, request: LogRequest, front: bool) {
        {
            let mut state = self.inner.state.lock().expect("queue state poisoned");
            if front {
                state.log.push_front(request);
            } else {
                state.log.push_back(request);
            }
        }
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn pop_log(&self) -> Option<LogRequest> {
        let mut state = self.inner.state.lock().expect("queue state poisoned");
        state.log.pop_front()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner
            .state
            .lock()
            .expect("queue state poisoned")
            .closed
    }

    pub(crate) fn changed(&self) -> &Notify {
        &self.inner.changed
    }

    /// Log requests waiting for the sequencer, for tests.
    pub fn log_len(&self) -> usize {
        self.inner
            .state
            .lock()
            .expect("queue state poisoned")
            .log
            .len()
    }

    pub(crate) fn publish_event(&self, event: JobEvent) {
        let state = self.inner.state.lock().expect("queue state poisoned");
        if let Some(tx) = state.events.get(&event.batch_id) {
            let _ = tx.send(event);
        }
    }

    pub(crate) fn subscribe_events(&self, batch: &BatchId) -> mpsc::UnboundedReceiver<JobEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.inner.state.lock().expect("queue state poisoned");
        state.events.insert(batch.clone(), tx);
        rx
    }

    pub(crate) fn unsubscribe_events(&self, batch: &BatchId) {
        let mut state = self.inner.state.lock().expect("queue state poisoned");
        state.events.remove(batch);
    }

    /// Ends every consumer's stream once the ready jobs are taken; later publishes fail.
    pub fn close(&self) {
        self.inner
            .state
            .lock()
            .expect("queue state poisoned")
            .closed = true;
        self.inner.changed.notify_waiters();
    }

    /// Jobs whose delivery was acknowledged, in order, for tests.
    pub fn acked(&self) -> Vec<Job> {
        self.inner
            .state
            .lock()
            .expect("queue state poisoned")
            .acked
            .clone()
    }

    /// Jobs that were dead-lettered, for tests and the embedded summary.
    pub fn dead_letters(&self) -> Vec<Job> {
        self.inner
            .state
            .lock()
            .expect("queue state poisoned")
            .dead
            .clone()
    }

    /// Jobs waiting for a worker.
    pub fn ready_len(&self) -> usize {
        let state = self.inner.state.lock().expect("queue state poisoned");
        state.ready.values().map(VecDeque::len).sum()
    }
}

/// Deliveries from a [`MemoryQueue`].
#[derive(Debug)]
pub struct MemoryJobStream {
    queue: MemoryQueue,
    kinds: Vec<JobKind>,
}

impl MemoryJobStream {
    /// The next job, how many times it was delivered before, and its handle; `None` once the
    /// queue is closed.
    pub(crate) async fn next(&mut self) -> Option<(Job, u32, MemoryHandle)> {
        loop {
            // Registered before the check, so a push between the check and the await wakes us.
            let changed = self.queue.inner.changed.notified();
            {
                let mut state = self.queue.inner.state.lock().expect("queue state poisoned");
                for kind in &self.kinds {
                    if let Some(envelope) = state.ready.get_mut(kind).and_then(VecDeque::pop_front)
                    {
                        let previous = envelope.deliveries;
                        let handle = MemoryHandle {
                            queue: self.queue.clone(),
                            envelope: Some(Envelope {
                                job: envelope.job.clone(),
                                deliveries: previous + 1,
                            }),
                        };
                        return Some((envelope.job, previous, handle));
                    }
                }
                if state.closed {
                    return None;
                }
            }
            changed.await;
        }
    }
}

/// Settles one in-process delivery. Dropped unsettled, the job goes back to the queue, as a
/// broker would redeliver it when a consumer dies.
#[derive(Debug)]
pub struct MemoryHandle {
    queue: MemoryQueue,
    envelope: Option<Envelope>,
}

impl MemoryHandle {
    pub(crate) fn ack(mut self) {
        if let Some(envelope) = self.envelope.take() {
            let mut state = self.queue.inner.state.lock().expect("queue state poisoned");
            state.acked.push(envelope.job);
        }
    }

    pub(crate) fn requeue(mut self) {
        if let Some(envelope) = self.envelope.take() {
            let _ = self.queue.push(envelope, true);
        }
    }

    pub(crate) fn dead_letter(mut self) {
        if let Some(envelope) = self.envelope.take() {
            let mut state = self.queue.inner.state.lock().expect("queue state poisoned");
            state.dead.push(envelope.job);
        }
    }
}

impl Drop for MemoryHandle {
    fn drop(&mut self) {
        if let Some(envelope) = self.envelope.take() {
            let _ = self.queue.push(envelope, true);
        }
    }
}

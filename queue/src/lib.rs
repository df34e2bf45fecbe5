//! `caravan-queue`: how jobs reach workers and how events reach the scheduler.
//!
//! One interface, [`Queue`], with two implementations: [`memory::MemoryQueue`] (in-process; the
//! embedded default and unit tests) and [`amqp::AmqpQueue`] (RabbitMQ via lapin).
//!
//! # Invariants
//! - Only this crate knows about AMQP.
//! - A publish returns only after the broker confirmed it (publisher confirms); an unconfirmed
//!   or unroutable publish is an error.
//! - Every broker round-trip is bounded in time (30 s): a broker that accepts connections but
//!   never answers yields a retryable `Unavailable` error, never a hang.
//! - Jobs are acknowledged only through [`DeliveryHandle`], and only by the worker after the
//!   receipt is stored; the result of every ack is checked.
//! - Names come from [`caravan_proto::Topology`]; messages are [`caravan_proto`] types.

pub mod amqp;
mod depth;
mod error;
pub mod memory;
pub mod memory_log;

use caravan_proto::{BatchId, Job, JobEvent, JobKind, LogRequest};

pub use amqp::{redact_url, AmqpConfig, AmqpQueue};
pub use depth::QueueDepth;
pub use error::QueueError;
pub use memory::MemoryQueue;

/// A job queue plus an event channel. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Queue {
    Memory(MemoryQueue),
    Amqp(AmqpQueue),
}

impl Queue {
    /// Publishes a job to its kind's queue; returns once the broker has confirmed it.
    pub async fn publish_job(&self, job: &Job) -> Result<(), QueueError> {
        match self {
            Queue::Memory(q) => q.publish_job(job.clone()),
            Queue::Amqp(q) => q.publish_job(job).await,
        }
    }

    /// Starts consuming jobs of `kinds`, holding at most `prefetch` unacknowledged per kind.
    pub async fn consume_jobs(
        &self,
        kinds: &[JobKind],
        prefetch: u16,
    ) -> Result<JobStream, QueueError> {
        match self {
            Queue::Memory(q) => Ok(JobStream::Memory(q.consume_jobs(kinds))),
            Queue::Amqp(q) => Ok(JobStream::Amqp(Box::new(
                q.consume_jobs(kinds, prefetch).await?,
            ))),
        }
    }

    /// Jobs the broker dead-lettered, for recording why (`None` in-process: there, every
    /// dead-lettered job already has its failure record).
    pub async fn consume_dead_letters(&self) -> Result<Option<JobStream>, QueueError> {
        match self {
            Queue::Memory(_) => Ok(None),
            Queue::Amqp(q) => Ok(Some(JobStream::Amqp(Box::new(
                q.consume_dead_letters().await?,
            )))),
        }
    }

    /// Whether the broker answers: the shared connection, re-opened if it was lost (always
    /// true in-process).
    pub async fn probe(&self) -> Result<(), QueueError> {
        match self {
            Queue::Memory(_) => Ok(()),
            Queue::Amqp(q) => q.probe().await,
        }
    }

    /// Each job queue's backlog and consumers, and the dead-letter queue's backlog (`None`
    /// in-process, where no other process can consume).
    pub async fn depths(&self) -> Result<Option<Vec<QueueDepth>>, QueueError> {
        match self {
            Queue::Memory(_) => Ok(None),
            Queue::Amqp(q) => Ok(Some(q.depths().await?)),
        }
    }

    /// Asks the transparency log's sequencer to append a signed receipt; returns once the
    /// broker has confirmed it.
    pub async fn publish_log_request(&self, request: &LogRequest) -> Result<(), QueueError> {
        match self {
            Queue::Memory(q) => q.publish_log_request(request.clone()),
            Queue::Amqp(q) => q.publish_log_request(request).await,
        }
    }

    /// Starts consuming log requests (the sequencer). With a broker, requests arrive only
    /// while this consumer is the queue's single active one.
    pub async fn consume_log_requests(&self, prefetch: u16) -> Result<LogStream, QueueError> {
        match self {
            Queue::Memory(q) => Ok(LogStream::Memory(memory_log::MemoryLogStream {
                queue: q.clone(),
            })),
            Queue::Amqp(q) => Ok(LogStream::Amqp(Box::new(
                q.consume_log_requests(prefetch).await?,
            ))),
        }
    }

    /// Sends an event towards the scheduler following `event.batch_id`.
    pub async fn publish_event(&self, event: &JobEvent) -> Result<(), QueueError> {
        match self {
            Queue::Memory(q) => {
                q.publish_event(event.clone());
                Ok(())
            }
            Queue::Amqp(q) => q.publish_event(event).await,
        }
    }

    /// Collects the events of one batch. Call before publishing the batch's jobs.
    pub async fn subscribe_events(&self, batch: &BatchId) -> Result<EventStream, QueueError> {
        match self {
            Queue::Memory(q) => Ok(EventStream::Memory(q.subscribe_events(batch))),
            Queue::Amqp(q) => Ok(EventStream::Amqp(Box::new(
                q.subscribe_events(batch).await?,
            ))),
        }
    }

    /// Removes the event queue of a batch that is finished.
    pub async fn unsubscribe_events(&self, batch: &BatchId) -> Result<(), QueueError> {
        match self {
            Queue::Memory(q) => {
                q.unsubscribe_events(batch);
                Ok(())
            }
            Queue::Amqp(q) => q.delete_events_queue(batch).await,
        }
    }
}

/// One delivered job. The job is `Err` when the message could not be decoded; such a message
/// can only be dead-lettered.
#[derive(Debug)]
pub struct JobDelivery {
    pub job: Result<Job, String>,
    /// How many times the broker delivered this message before (0 on first delivery).
    pub previous_deliveries: u32,
    /// For a dead-lettered message: why the broker dead-lettered it (`rejected`,
    /// `delivery_limit`, `expired`).
    pub death_reason: Option<String>,
    pub handle: DeliveryHandle,
}

/// Settles one delivery. Exactly one of its methods should be called; dropping it unsettled
/// leaves the message to be redelivered when the consumer goes away.
#[derive(Debug)]
pub enum DeliveryHandle {
    /// Boxed: it holds the whole job for requeueing, far larger than an AMQP acker.
    Memory(Box<memory::MemoryHandle>),
    MemoryLog(memory_log::MemoryLogHandle),
    Amqp(amqp::AmqpAcker),
}

impl DeliveryHandle {
    /// The job is done (receipt stored) or recorded as failed: forget the message.
    pub async fn ack(self) -> Result<(), QueueError> {
        match self {
            DeliveryHandle::Memory(h) => {
                h.ack();
                Ok(())
            }
            DeliveryHandle::MemoryLog(h) => {
                h.ack();
                Ok(())
            }
            DeliveryHandle::Amqp(acker) => acker.ack().await,
        }
    }

    /// Put the message back for another worker (used on shutdown).
    pub async fn requeue(self) -> Result<(), QueueError> {
        match self {
            DeliveryHandle::Memory(h) => {
                h.requeue();
                Ok(())
            }
            DeliveryHandle::MemoryLog(h) => {
                h.requeue();
                Ok(())
            }
            DeliveryHandle::Amqp(acker) => acker.requeue().await,
        }
    }

    /// Send the message to the dead-letter queue.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        match self {
            DeliveryHandle::Memory(h) => {
                h.dead_letter();
                Ok(())
            }
            // The log has no dead-letter queue: a request that does not parse is dropped.
            DeliveryHandle::MemoryLog(h) => {
                h.ack();
                Ok(())
            }
            DeliveryHandle::Amqp(acker) => acker.dead_letter().await,
        }
    }
}

/// Deliveries of jobs.
#[derive(Debug)]
pub enum JobStream {
    Memory(memory::MemoryJobStream),
    Amqp(Box<amqp::AmqpJobStream>),
}

impl JobStream {
    /// The next delivery; `None` when the queue was closed, `Err` when the connection was lost.
    pub async fn next(&mut self) -> Option<Result<JobDelivery, QueueError>> {
        match self {
            JobStream::Memory(s) => s.next().await.map(|(job, previous_deliveries, handle)| {
                Ok(JobDelivery {
                    job: Ok(job),
                    previous_deliveries,
                    death_reason: None,
                    handle: DeliveryHandle::Memory(Box::new(handle)),
                })
            }),
            JobStream::Amqp(s) => s.next().await.map(|delivery| {
                delivery.map(|d| JobDelivery {
                    job: d.job,
                    previous_deliveries: d.previous_deliveries,
                    death_reason: d.death_reason,
                    handle: DeliveryHandle::Amqp(d.acker),
                })
            }),
        }
    }

    /// Asks for no more deliveries (shutdown); jobs in flight can still be settled.
    pub async fn stop(&self) {
        match self {
            JobStream::Memory(_) => {}
            JobStream::Amqp(s) => s.stop().await,
        }
    }
}

/// One delivered log request (`Err` when the message does not parse: it can only be dropped).
#[derive(Debug)]
pub struct LogDelivery {
    pub request: Result<LogRequest, String>,
    pub handle: DeliveryHandle,
}

/// Deliveries of log requests.
#[derive(Debug)]
pub enum LogStream {
    Memory(memory_log::MemoryLogStream),
    Amqp(Box<amqp::AmqpLogStream>),
}

impl LogStream {
    /// The next request; `None` only when the in-process queue is closed and drained, `Err` when
    /// the connection was lost.
    pub async fn next(&mut self) -> Option<Result<LogDelivery, QueueError>> {
        match self {
            LogStream::Memory(s) => s.next().await.map(|(request, handle)| {
                Ok(LogDelivery {
                    request: Ok(request),
                    handle: DeliveryHandle::MemoryLog(handle),
                })
            }),
            LogStream::Amqp(s) => s.next().await.map(|delivery| {
                delivery.map(|d| LogDelivery {
                    request: d.request,
                    handle: DeliveryHandle::Amqp(d.acker),
                })
            }),
        }
    }

    /// Asks for no more deliveries (shutdown).
    pub async fn stop(&self) {
        match self {
            LogStream::Memory(_) => {}
            LogStream::Amqp(s) => s.stop().await,
        }
    }
}

/// Events of one batch.
#[derive(Debug)]
pub enum EventStream {
    Memory(tokio::sync::mpsc::UnboundedReceiver<JobEvent>),
    Amqp(Box<amqp::AmqpEventStream>),
}

impl EventStream {
    /// The next event; `None` if the event source is gone.
    pub async fn next(&mut self) -> Option<Result<JobEvent, QueueError>> {
        match self {
            EventStream::Memory(rx) => rx.recv().await.map(Ok),
            EventStream::Amqp(s) => s.next().await,
        }
    }
}

#[cfg(test)]
mod tests;

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
mod error;
pub mod memory;

use caravan_proto::{BatchId, Job, JobEvent, JobKind};

pub use amqp::{redact_url, AmqpConfig, AmqpQueue};
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
    Amqp(lapin::acker::Acker),
}

impl DeliveryHandle {
    /// The job is done (receipt stored) or recorded as failed: forget the message.
    pub async fn ack(self) -> Result<(), QueueError> {
        match self {
            DeliveryHandle::Memory(h) => {
                h.ack();
                Ok(())
            }
            DeliveryHandle::Amqp(acker) => amqp::ack(acker).await,
        }
    }

    /// Put the message back for another worker (used on shutdown).
    pub async fn requeue(self) -> Result<(), QueueError> {
        match self {
            DeliveryHandle::Memory(h) => {
                h.requeue();
                Ok(())
            }
            DeliveryHandle::Amqp(acker) => amqp::requeue(acker).await,
        }
    }

    /// Send the message to the dead-letter queue.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        match self {
            DeliveryHandle::Memory(h) => {
                h.dead_letter();
                Ok(())
            }
            DeliveryHandle::Amqp(acker) => amqp::dead_letter(acker).await,
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
            JobStream::Memory(s) => s.next().await.map(Ok),
            JobStream::Amqp(s) => s.next().await,
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

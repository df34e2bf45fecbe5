//! RabbitMQ via lapin.
//!
//! Topology (names from [`caravan_proto::Topology`]): a durable direct exchange routes jobs by kind into one
//! durable quorum queue per kind; those queues dead-letter (at least once) into a fanout
//! exchange and a quorum dead-letter queue, and hand a message to the dead letter after
//! `delivery_limit` deliveries, so a job that crashes workers cannot loop for ever. Events go
//! through a topic exchange, routed by batch id, into one queue per batch that expires when no
//! scheduler has used it for a week.
//!
//! - `config`: how to reach the broker ([`AmqpConfig`], [`redact_url`]);
//! - `link`: the shared publishing connection, re-opened when lost;
//! - `topology`: exchanges and queues, declared on every new channel;
//! - `publish`: publishes that count only when confirmed;
//! - `consume`: job and dead-letter consumers ([`AmqpJobStream`]);
//! - `events`: one batch's events ([`AmqpEventStream`]);
//! - `log`: the transparency log's requests, one active consumer ([`AmqpLogStream`]);
//! - `settle`: ack, requeue, dead-letter ([`AmqpAcker`]);
//! - `depth`: jobs waiting and consumers per queue, for `caravan status`;
//! - `round_trip`: every broker round-trip bounded by 30 s.

mod config;
mod consume;
mod depth;
mod events;
mod link;
mod log;
mod publish;
mod round_trip;
mod settle;
mod topology;

use std::sync::Arc;

use caravan_proto::{BatchId, Job, JobEvent, JobKind, LogRequest};

pub use config::{redact_url, AmqpConfig};
pub use consume::{AmqpDelivery, AmqpJobStream};
pub use events::AmqpEventStream;
pub use log::{AmqpLogDelivery, AmqpLogStream};
pub use settle::AmqpAcker;

use crate::error::QueueError;
use link::Link;

/// A RabbitMQ-backed queue. Cheap to clone; clones share one connection, which is re-opened
/// (and the topology re-declared) when it is lost.
#[derive(Debug, Clone)]
pub struct AmqpQueue {
    link: Arc<Link>,
}

impl AmqpQueue {
    /// Connects and declares the topology.
    pub async fn connect(config: AmqpConfig) -> Result<Self, QueueError> {
        let queue = Self {
            link: Arc::new(Link::new(config)),
        };
        queue.link.publisher().await?;
        Ok(queue)
    }

    pub(crate) async fn publish_job(&self, job: &Job) -> Result<(), QueueError> {
        publish::publish_job(&self.link, job).await
    }

    pub(crate) async fn publish_event(&self, event: &JobEvent) -> Result<(), QueueError> {
        publish::publish_event(&self.link, event).await
    }

    pub(crate) async fn consume_jobs(
        &self,
        kinds: &[JobKind],
        prefetch: u16,
    ) -> Result<AmqpJobStream, QueueError> {
        consume::consume_jobs(&self.link, kinds, prefetch).await
    }

    /// Consumes the dead-letter watch queue
    /// ([`caravan_proto::Topology::dead_letter_watch_queue`]).
    pub(crate) async fn consume_dead_letters(&self) -> Result<AmqpJobStream, QueueError> {
        consume::consume_dead_letters(&self.link).await
    }

    pub(crate) async fn publish_log_request(&self, request: &LogRequest) -> Result<(), QueueError> {
        log::publish_log_request(&self.link, request).await
    }

    pub(crate) async fn consume_log_requests(
        &self,
        prefetch: u16,
    ) -> Result<AmqpLogStream, QueueError> {
        log::consume_log_requests(&self.link, prefetch).await
    }

    pub(crate) async fn subscribe_events(
        &self,
        batch: &BatchId,
    ) -> Result<AmqpEventStream, QueueError> {
        events::subscribe_events(&self.link, batch).await
    }

    pub(crate) async fn probe(&self) -> Result<(), QueueError> {
        self.link.publisher().await.map(|_| ())
    }

    pub(crate) async fn depths(&self) -> Result<Vec<crate::depth::QueueDepth>, QueueError> {
        depth::depths(&self.link).await
    }

    /// Deletes `config`'s queues, with every message in them, and its exchanges, declaring
    /// nothing first (a queue declared with other arguments is deleted all the same): for
    /// retiring a deployment prefix, or a test's. Workers consuming them lose their consumers.
    pub async fn delete_topology(config: AmqpConfig) -> Result<(), QueueError> {
        let link = Link::new(config);
        let connection = link.open_connection().await?;
        let channel = link
            .answer("opening a channel", connection.create_channel())
            .await?;
        let deleting = topology::delete(&channel, &link.config.topology);
        let deleted = match tokio::time::timeout(round_trip::BROKER_TIMEOUT, deleting).await {
            Ok(result) => result,
            Err(_) => Err(link.timed_out("deleting the topology")),
        };
        let closing = connection.close(200, "topology deleted");
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), closing).await;
        deleted
    }

    pub(crate) async fn delete_events_queue(&self, batch: &BatchId) -> Result<(), QueueError> {
        publish::delete_events_queue(&self.link, batch).await
    }
}

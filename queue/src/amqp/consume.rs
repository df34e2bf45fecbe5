//! Consuming job queues (and the dead-letter watch queue) on a connection of their own, so a
//! publisher reconnect never cancels consumers and a lost consumer connection is seen by the
//! consume loop.

use caravan_proto::{Job, JobKind};
use futures::stream::{select_all, SelectAll};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, Consumer};

use super::link::Link;
use super::round_trip::within;
use super::settle::AmqpAcker;
use crate::error::QueueError;

/// One delivered message, as the broker sent it.
#[derive(Debug)]
pub struct AmqpDelivery {
    /// `Err` when the message is not a job (it can only be dead-lettered).
    pub job: Result<Job, String>,
    pub previous_deliveries: u32,
    pub death_reason: Option<String>,
    pub acker: AmqpAcker,
}

pub(super) async fn consume_jobs(
    link: &Link,
    kinds: &[JobKind],
    prefetch: u16,
) -> Result<AmqpJobStream, QueueError> {
    let name = &link.config.connection_name;
    let queues: Vec<_> = kinds
        .iter()
        .map(|kind| {
            (
                link.config.topology.job_queue(*kind),
                format!("{name}-{kind}"),
            )
        })
        .collect();
    consume(link, &queues, prefetch).await
}

/// Consumes the dead-letter watch queue (see [`Topology::dead_letter_watch_queue`]).
pub(super) async fn consume_dead_letters(link: &Link) -> Result<AmqpJobStream, QueueError> {
    let tag = format!("{}-dead-letters", link.config.connection_name);
    let queues = [(link.config.topology.dead_letter_watch_queue(), tag)];
    consume(link, &queues, 16).await
}

/// Consumes `(queue, consumer tag)` pairs on a dedicated connection, so a publisher reconnect
/// never cancels consumers and a lost consumer connection is seen by the consumer loop.
async fn consume(
    link: &Link,
    queues: &[(String, String)],
    prefetch: u16,
) -> Result<AmqpJobStream, QueueError> {
    let connection = link.open_connection().await?;
    let channel = link
        .answer("opening a channel", connection.create_channel())
        .await?;
    link.declare(&channel).await?;
    link.answer(
        "setting the prefetch",
        channel.basic_qos(prefetch.max(1), BasicQosOptions::default()),
    )
    .await?;
    let mut consumers = Vec::new();
    for (queue, tag) in queues {
        let consume = channel.basic_consume(
            queue,
            tag,
            BasicConsumeOptions::default(),
            FieldTable::default(),
        );
        consumers.push(link.answer("starting a consumer", consume).await?);
    }
    Ok(AmqpJobStream {
        consumers: select_all(consumers),
        tags: queues.iter().map(|(_, tag)| tag.clone()).collect(),
        target: link.target(),
        _connection: connection,
        channel,
    })
}

/// Job deliveries from RabbitMQ. Ends with an error when its connection is lost; the worker then
/// consumes again.
pub struct AmqpJobStream {
    consumers: SelectAll<Consumer>,
    tags: Vec<String>,
    target: String,
    channel: Channel,
    _connection: Connection,
}

impl std::fmt::Debug for AmqpJobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpJobStream")
            .field("target", &self.target)
            .finish()
    }
}

impl AmqpJobStream {
    pub(crate) async fn next(&mut self) -> Option<Result<AmqpDelivery, QueueError>> {
        let delivery = match self.consumers.next().await? {
            Ok(d) => d,
            Err(e) => {
                return Some(Err(QueueError::Unavailable {
                    target: self.target.clone(),
                    detail: e.to_string(),
                }))
            }
        };
        let previous_deliveries = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-delivery-count").cloned())
            .and_then(|v| match v {
                AMQPValue::LongLongInt(n) => u32::try_from(n).ok(),
                AMQPValue::LongInt(n) => u32::try_from(n).ok(),
                AMQPValue::ShortInt(n) => u32::try_from(n).ok(),
                _ => None,
            })
            .unwrap_or(u32::from(delivery.redelivered));
        let job = serde_json::from_slice::<Job>(&delivery.data).map_err(|e| e.to_string());
        let death_reason = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-first-death-reason").cloned())
            .and_then(|v| match v {
                AMQPValue::LongString(s) => Some(s.to_string()),
                AMQPValue::ShortString(s) => Some(s.to_string()),
                _ => None,
            });
        Some(Ok(AmqpDelivery {
            job,
            previous_deliveries,
            death_reason,
            acker: AmqpAcker(delivery.acker),
        }))
    }

    /// Tells the broker to send no more deliveries on this stream (first step of shutdown);
    /// deliveries already sent but not taken go back when the connection closes.
    pub(crate) async fn stop(&self) {
        for tag in &self.tags {
            let cancelled = within(
                "cancelling a consumer",
                &self.target,
                self.channel
                    .basic_cancel(tag, lapin::options::BasicCancelOptions::default()),
            )
            .await;
            if let Err(e) = cancelled {
                tracing::warn!(error = %e, tag, "Could not cancel a consumer");
            }
        }
    }
}

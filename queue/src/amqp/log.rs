//! The transparency log's request queue: a durable quorum queue with a single active consumer,
//! so that of all the workers consuming it exactly one — the log's sequencer — receives
//! requests at a time, and another takes over (with the unacknowledged requests) when it dies.
//! Requests are published through the default exchange, straight to the queue.

use caravan_proto::LogRequest;
use futures::StreamExt;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, Consumer};

use super::link::Link;
use super::round_trip::within;
use super::settle::AmqpAcker;
use crate::error::QueueError;

pub(super) async fn publish_log_request(
    link: &Link,
    request: &LogRequest,
) -> Result<(), QueueError> {
    let payload = serde_json::to_vec(request)?;
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"));
    super::publish::publish_confirmed(
        link,
        "",
        &link.config.topology.log_queue(),
        &payload,
        properties,
    )
    .await
}

pub(super) async fn consume_log_requests(
    link: &Link,
    prefetch: u16,
) -> Result<AmqpLogStream, QueueError> {
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
    let tag = format!("{}-log", link.config.connection_name);
    let consumer = link
        .answer(
            "starting the log consumer",
            channel.basic_consume(
                &link.config.topology.log_queue(),
                &tag,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
    Ok(AmqpLogStream {
        consumer,
        tag,
        target: link.target(),
        channel,
        _connection: connection,
    })
}

/// One log request as the broker delivered it: `Err` when the message does not parse.
#[derive(Debug)]
pub struct AmqpLogDelivery {
    pub request: Result<LogRequest, String>,
    pub acker: AmqpAcker,
}

/// Log requests from RabbitMQ; they arrive only while this consumer is the queue's active one.
pub struct AmqpLogStream {
    consumer: Consumer,
    tag: String,
    target: String,
    channel: Channel,
    _connection: Connection,
}

impl std::fmt::Debug for AmqpLogStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpLogStream")
            .field("target", &self.target)
            .finish()
    }
}

impl AmqpLogStream {
    pub(crate) async fn next(&mut self) -> Option<Result<AmqpLogDelivery, QueueError>> {
        // The stream ends only with the channel or when the broker cancels the consumer: for
        // the sequencer that is a lost stream to consume again, never the end of the queue.
        let delivery = match self.consumer.next().await {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                return Some(Err(QueueError::Unavailable {
                    target: self.target.clone(),
                    detail: e.to_string(),
                }))
            }
            None => {
                return Some(Err(QueueError::Unavailable {
                    target: self.target.clone(),
                    detail: "the broker ended the log consumer".to_owned(),
                }))
            }
        };
        Some(Ok(AmqpLogDelivery {
            request: serde_json::from_slice(&delivery.data).map_err(|e| e.to_string()),
            acker: AmqpAcker(delivery.acker),
        }))
    }

    /// No more deliveries; the unacknowledged ones go to the next active consumer.
    pub(crate) async fn stop(&self) {
        let cancel = self
            .channel
            .basic_cancel(&self.tag, BasicCancelOptions::default());
        if let Err(e) = within("cancelling the log consumer", &self.target, cancel).await {
            tracing::warn!(error = %e, "Could not cancel the log consumer");
        }
    }
}

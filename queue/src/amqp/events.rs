//! A batch's events: one queue per batch, bound to the events exchange by batch id, expiring a
//! week after its scheduler stopped using it.

use caravan_proto::{BatchId, JobEvent};
use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Connection, Consumer};

use super::link::Link;
use super::round_trip::{refused, BROKER_TIMEOUT};
use crate::error::QueueError;

pub(super) async fn subscribe_events(
    link: &Link,
    batch: &BatchId,
) -> Result<AmqpEventStream, QueueError> {
    let connection = link.open_connection().await?;
    let channel = link
        .answer("opening a channel", connection.create_channel())
        .await?;
    let t = &link.config.topology;
    let mut args = FieldTable::default();
    // A week without a consumer: the scheduler is not coming back for these events.
    args.insert(
        ShortString::from("x-expires"),
        AMQPValue::LongInt(7 * 24 * 3600 * 1000),
    );
    let queue = t.events_queue(batch);
    let declare_and_bind = async {
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare(&queue, durable, args)
            .await
            .map_err(refused("declaring the events queue"))?;
        channel
            .queue_bind(
                &queue,
                &t.events_exchange(),
                batch.as_str(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(refused("binding the events queue"))
    };
    tokio::time::timeout(BROKER_TIMEOUT, declare_and_bind)
        .await
        .map_err(|_| link.timed_out("declaring the events queue"))??;
    let consumer = link
        .answer(
            "starting the events consumer",
            channel.basic_consume(
                &queue,
                "caravan-scheduler",
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            ),
        )
        .await?;
    Ok(AmqpEventStream {
        consumer,
        target: link.target(),
        _connection: connection,
    })
}

/// One batch's events from RabbitMQ.
pub struct AmqpEventStream {
    consumer: Consumer,
    target: String,
    _connection: Connection,
}

impl std::fmt::Debug for AmqpEventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpEventStream")
            .field("target", &self.target)
            .finish()
    }
}

impl AmqpEventStream {
    pub(crate) async fn next(&mut self) -> Option<Result<JobEvent, QueueError>> {
        loop {
            let delivery = match self.consumer.next().await? {
                Ok(d) => d,
                Err(e) => {
                    return Some(Err(QueueError::Unavailable {
                        target: self.target.clone(),
                        detail: e.to_string(),
                    }))
                }
            };
            match serde_json::from_slice::<JobEvent>(&delivery.data) {
                Ok(event) => return Some(Ok(event)),
                Err(e) => tracing::warn!(error = %e, "Ignoring an event that does not parse"),
            }
        }
    }
}

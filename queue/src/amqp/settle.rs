//! Settling one AMQP delivery, each settle bounded and its result checked.

use lapin::options::{BasicAckOptions, BasicNackOptions, BasicRejectOptions};

use super::round_trip::within;
use crate::error::QueueError;

/// Settles one delivery from RabbitMQ.
#[derive(Debug)]
pub struct AmqpAcker(pub(super) lapin::acker::Acker);

impl AmqpAcker {
    /// The job is done: forget the message.
    pub async fn ack(self) -> Result<(), QueueError> {
        bounded(
            "acknowledging a delivery",
            self.0.ack(BasicAckOptions::default()),
        )
        .await
    }

    /// Put the message back for another consumer.
    pub async fn requeue(self) -> Result<(), QueueError> {
        let options = BasicNackOptions {
            requeue: true,
            ..Default::default()
        };
        bounded("handing a delivery back", self.0.nack(options)).await
    }

    /// Send the message to the dead-letter exchange.
    pub async fn dead_letter(self) -> Result<(), QueueError> {
        bounded(
            "dead-lettering a delivery",
            self.0.reject(BasicRejectOptions { requeue: false }),
        )
        .await
    }
}

async fn bounded(
    what: &'static str,
    settle: impl std::future::Future<Output = lapin::Result<()>>,
) -> Result<(), QueueError> {
    within(what, "the delivery's channel", settle).await
}

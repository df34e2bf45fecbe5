//! The broker's topology, declared (idempotently) on every new channel: a durable direct
//! exchange routes jobs by kind into one quorum queue per kind; those queues dead-letter (at
//! least once) into a fanout exchange feeding two quorum dead-letter queues, and hand a message to
//! the dead letter after `delivery_limit` deliveries; events go through a topic exchange; the
//! transparency log's requests wait in a quorum queue with a single active consumer.

use caravan_proto::{JobKind, Topology};
use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

use super::config::AmqpConfig;
use super::round_trip::refused;
use crate::error::QueueError;

pub(super) async fn declare(channel: &Channel, config: &AmqpConfig) -> Result<(), QueueError> {
    let t = &config.topology;
    let durable_exchange = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let durable_queue = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };

    channel
        .exchange_declare(
            &t.dead_letter_exchange(),
            ExchangeKind::Fanout,
            durable_exchange,
            FieldTable::default(),
        )
        .await
        .map_err(refused("declaring the dead-letter exchange"))?;
    // A fanout: the dead-letter queue keeps every message for operators, the watch queue
    // feeds the workers' failure recorder.
    for queue in [t.dead_letter_queue(), t.dead_letter_watch_queue()] {
        channel
            .queue_declare(&queue, durable_queue, quorum_args())
            .await
            .map_err(refused("declaring a dead-letter queue"))?;
        channel
            .queue_bind(
                &queue,
                &t.dead_letter_exchange(),
                "",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(refused("binding a dead-letter queue"))?;
    }

    channel
        .exchange_declare(
            &t.jobs_exchange(),
            ExchangeKind::Direct,
            durable_exchange,
            FieldTable::default(),
        )
        .await
        .map_err(refused("declaring the jobs exchange"))?;
    for kind in JobKind::ALL {
        let mut args = quorum_args();
        args.insert(
            ShortString::from("x-dead-letter-exchange"),
            AMQPValue::LongString(t.dead_letter_exchange().into()),
        );
        args.insert(
            ShortString::from("x-dead-letter-strategy"),
            AMQPValue::LongString("at-least-once".into()),
        );
        args.insert(
            ShortString::from("x-overflow"),
            AMQPValue::LongString("reject-publish".into()),
        );
        args.insert(
            ShortString::from("x-delivery-limit"),
            AMQPValue::LongInt(config.delivery_limit as i32),
        );
        args.insert(
            ShortString::from("x-consumer-timeout"),
            AMQPValue::LongLongInt(config.consumer_timeout_ms as i64),
        );
        channel
            .queue_declare(&t.job_queue(kind), durable_queue, args)
            .await
            .map_err(refused(
                "declaring a job queue (if its arguments changed, delete it while empty)",
            ))?;
        channel
            .queue_bind(
                &t.job_queue(kind),
                &t.jobs_exchange(),
                kind.as_str(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(refused("binding a job queue"))?;
    }

    // The transparency log's requests: one consumer at a time (the sequencer) appends.
    let mut log_args = quorum_args();
    log_args.insert(
        ShortString::from("x-single-active-consumer"),
        AMQPValue::Boolean(true),
    );
    channel
        .queue_declare(&t.log_queue(), durable_queue, log_args)
        .await
        .map_err(refused(
            "declaring the log queue (if its arguments changed, delete it while empty)",
        ))?;

    channel
        .exchange_declare(
            &t.events_exchange(),
            ExchangeKind::Topic,
            durable_exchange,
            FieldTable::default(),
        )
        .await
        .map_err(refused("declaring the events exchange"))?;
    Ok(())
}

/// Deletes every durable queue (with the messages in it) and exchange of the topology; what does
/// not exist is skipped. Consumers of the deleted queues are cancelled by the broker.
pub(super) async fn delete(channel: &Channel, t: &Topology) -> Result<(), QueueError> {
    for queue in t.durable_queues() {
        channel
            .queue_delete(&queue, QueueDeleteOptions::default())
            .await
            .map_err(refused("deleting a queue"))?;
    }
    for exchange in t.exchanges() {
        channel
            .exchange_delete(&exchange, ExchangeDeleteOptions::default())
            .await
            .map_err(refused("deleting an exchange"))?;
    }
    Ok(())
}

pub(super) fn quorum_args() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString("quorum".into()),
    );
    args
}

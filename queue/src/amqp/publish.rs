//! Publishing with publisher confirms: a publish counts only when the broker confirms it;
//! unconfirmed ones are published again over a fresh connection, with backoff.

use std::time::Duration;

use caravan_proto::{BatchId, Job, JobEvent};
use lapin::options::{BasicPublishOptions, QueueDeleteOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::ShortString;
use lapin::BasicProperties;

use super::link::Link;
use crate::error::QueueError;

const PUBLISH_ATTEMPTS: u32 = 8;

/// Publishes `payload` and waits for the broker's confirm, reconnecting and publishing again
/// (with backoff) if the connection drops or the broker does not confirm.
pub(super) async fn publish_confirmed(
    link: &Link,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
    properties: BasicProperties,
) -> Result<(), QueueError> {
    let mut last = None;
    for attempt in 0..PUBLISH_ATTEMPTS {
        if attempt > 0 {
            let backoff = Duration::from_millis(200 * (1 << attempt.min(5)));
            tokio::time::sleep(backoff + Duration::from_millis(fastrand_jitter(250))).await;
        }
        match try_publish(link, exchange, routing_key, payload, properties.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_retryable() => {
                tracing::warn!(exchange, routing_key, attempt, error = %e, "Publish not confirmed; retrying");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(QueueError::NotConfirmed {
        destination: format!("{exchange}/{routing_key}"),
    }))
}

async fn try_publish(
    link: &Link,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
    properties: BasicProperties,
) -> Result<(), QueueError> {
    let channel = link.publisher().await?;
    let options = BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    let publish = async {
        channel
            .basic_publish(exchange, routing_key, options, payload, properties)
            .await?
            .await
    };
    let confirm = match link
        .answer("waiting for a publisher confirm", publish)
        .await
    {
        Ok(confirm) => confirm,
        Err(e) => {
            link.forget_publisher().await;
            return Err(e);
        }
    };
    let destination = || format!("{exchange}/{routing_key}");
    match confirm {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_returned)) => Err(QueueError::Refused {
            operation: "routing a message",
            detail: format!("no queue is bound for {}", destination()),
        }),
        Confirmation::Nack(_) | Confirmation::NotRequested => Err(QueueError::NotConfirmed {
            destination: destination(),
        }),
    }
}

pub(super) async fn publish_job(link: &Link, job: &Job) -> Result<(), QueueError> {
    let payload = serde_json::to_vec(job)?;
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"))
        .with_message_id(ShortString::from(job.job_id.to_string()));
    publish_confirmed(
        link,
        &link.config.topology.jobs_exchange(),
        job.kind.as_str(),
        &payload,
        properties,
    )
    .await
}

pub(super) async fn publish_event(link: &Link, event: &JobEvent) -> Result<(), QueueError> {
    let payload = serde_json::to_vec(event)?;
    let properties =
        BasicProperties::default().with_content_type(ShortString::from("application/json"));
    match publish_confirmed(
        link,
        &link.config.topology.events_exchange(),
        event.batch_id.as_str(),
        &payload,
        properties,
    )
    .await
    {
        // Nobody listens for this batch any more: events are advisory, receipts are the truth.
        Err(QueueError::Refused {
            operation: "routing a message",
            ..
        }) => Ok(()),
        other => other,
    }
}

pub(super) async fn delete_events_queue(link: &Link, batch: &BatchId) -> Result<(), QueueError> {
    let channel = link.publisher().await?;
    let queue = link.config.topology.events_queue(batch);
    link.answer(
        "deleting the events queue",
        channel.queue_delete(&queue, QueueDeleteOptions::default()),
    )
    .await
    .map(|_| ())
}

fn fastrand_jitter(max_ms: u64) -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos) % max_ms.max(1)
}

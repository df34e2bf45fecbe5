//! RabbitMQ via lapin.
//!
//! Topology (names from [`Topology`]): a durable direct exchange routes jobs by kind into one
//! durable quorum queue per kind; those queues dead-letter (at least once) into a fanout
//! exchange and a quorum dead-letter queue, and hand a message to the dead letter after
//! `delivery_limit` deliveries, so a job that crashes workers cannot loop for ever. Events go
//! through a topic exchange, routed by batch id, into one queue per batch that expires when no
//! scheduler has used it for a week.

use std::sync::Arc;
use std::time::Duration;

use caravan_proto::{BatchId, Job, JobEvent, JobKind, Topology};
use futures::stream::{select_all, SelectAll};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer, ExchangeKind};
use tokio::sync::Mutex;

use crate::{DeliveryHandle, JobDelivery, QueueError};

/// How to reach the broker.
#[derive(Clone)]
pub struct AmqpConfig {
    /// `amqp://user:password@host:port/vhost`; may carry `?heartbeat=N`.
    pub url: String,
    pub topology: Topology,
    /// Deliveries after which a job goes to the dead-letter queue.
    pub delivery_limit: u32,
    /// How long a delivery may stay unacknowledged before the broker takes it back, in ms; set
    /// per queue (`x-consumer-timeout`, honoured by RabbitMQ ≥ 3.12; older brokers use the global
    /// `consumer_timeout`). Must exceed the longest job.
    pub consumer_timeout_ms: u64,
    /// Name shown in the broker's management UI.
    pub connection_name: String,
}

impl std::fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("url", &redact_url(&self.url))
            .field("topology", &self.topology)
            .field("delivery_limit", &self.delivery_limit)
            .field("consumer_timeout_ms", &self.consumer_timeout_ms)
            .finish()
    }
}

/// `amqp://user:secret@host/` → `amqp://user:***@host/`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &rest[at..])
        }
        None => url.to_owned(),
    }
}

#[derive(Debug)]
struct Live {
    connection: Connection,
    publisher: Channel,
}

#[derive(Debug)]
struct Inner {
    config: AmqpConfig,
    live: Mutex<Option<Live>>,
}

/// A RabbitMQ-backed queue. Cheap to clone; clones share one connection, which is re-opened
/// (and the topology re-declared) when it is lost.
#[derive(Debug, Clone)]
pub struct AmqpQueue {
    inner: Arc<Inner>,
}

const PUBLISH_ATTEMPTS: u32 = 8;

impl AmqpQueue {
    /// Connects and declares the topology.
    pub async fn connect(config: AmqpConfig) -> Result<Self, QueueError> {
        let queue = Self {
            inner: Arc::new(Inner {
                config,
                live: Mutex::new(None),
            }),
        };
        queue.publisher().await?;
        Ok(queue)
    }

    fn topology(&self) -> &Topology {
        &self.inner.config.topology
    }

    fn target(&self) -> String {
        redact_url(&self.inner.config.url)
    }

    async fn open_connection(&self) -> Result<Connection, QueueError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(LongString::from(self.inner.config.connection_name.clone()));
        self.answer(
            "connecting",
            Connection::connect(&self.inner.config.url, properties),
        )
        .await
    }

    /// Waits for one broker round-trip, at most [`BROKER_TIMEOUT`]: a broker that accepts TCP
    /// but never answers (stuck, overloaded, half-restarted) must not hang a worker or a
    /// scheduler. A timeout is an `Unavailable` error, so callers reconnect and retry.
    async fn answer<T>(
        &self,
        what: &'static str,
        call: impl std::future::Future<Output = lapin::Result<T>>,
    ) -> Result<T, QueueError> {
        within(what, &self.target(), call).await
    }

    /// Drops the shared publishing connection, so the next publish opens a fresh one (after a
    /// timeout the old one may still look connected).
    async fn forget_publisher(&self) {
        if let Some(live) = self.inner.live.lock().await.take() {
            let closing = live.connection.close(0, "reconnecting");
            let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        }
    }

    /// The shared publishing channel, reconnecting if the connection was lost.
    async fn publisher(&self) -> Result<Channel, QueueError> {
        let mut live = self.inner.live.lock().await;
        if let Some(l) = live.as_ref() {
            if l.connection.status().connected() && l.publisher.status().connected() {
                return Ok(l.publisher.clone());
            }
        }
        let connection = self.open_connection().await?;
        let publisher = self
            .answer("opening a channel", connection.create_channel())
            .await?;
        self.answer(
            "enabling publisher confirms",
            publisher.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        self.declare(&publisher).await?;
        *live = Some(Live {
            connection,
            publisher: publisher.clone(),
        });
        Ok(publisher)
    }

    /// Declares exchanges and queues; idempotent. Bounded as a whole by [`BROKER_TIMEOUT`].
    async fn declare(&self, channel: &Channel) -> Result<(), QueueError> {
        match tokio::time::timeout(BROKER_TIMEOUT, self.declare_unbounded(channel)).await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out("declaring the topology")),
        }
    }

    fn timed_out(&self, what: &str) -> QueueError {
        timed_out(what, &self.target())
    }

    async fn declare_unbounded(&self, channel: &Channel) -> Result<(), QueueError> {
        let t = self.topology();
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
                AMQPValue::LongInt(self.inner.config.delivery_limit as i32),
            );
            args.insert(
                ShortString::from("x-consumer-timeout"),
                AMQPValue::LongLongInt(self.inner.config.consumer_timeout_ms as i64),
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

    /// Publishes `payload` and waits for the broker's confirm, reconnecting and publishing again
    /// (with backoff) if the connection drops or the broker does not confirm.
    async fn publish_confirmed(
        &self,
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
            match self
                .try_publish(exchange, routing_key, payload, properties.clone())
                .await
            {
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
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), QueueError> {
        let channel = self.publisher().await?;
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
        let confirm = match self
            .answer("waiting for a publisher confirm", publish)
            .await
        {
            Ok(confirm) => confirm,
            Err(e) => {
                self.forget_publisher().await;
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

    pub(crate) async fn publish_job(&self, job: &Job) -> Result<(), QueueError> {
        let payload = serde_json::to_vec(job)?;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type(ShortString::from("application/json"))
            .with_message_id(ShortString::from(job.job_id.to_string()));
        self.publish_confirmed(
            &self.topology().jobs_exchange(),
            job.kind.as_str(),
            &payload,
            properties,
        )
        .await
    }

    pub(crate) async fn publish_event(&self, event: &JobEvent) -> Result<(), QueueError> {
        let payload = serde_json::to_vec(event)?;
        let properties =
            BasicProperties::default().with_content_type(ShortString::from("application/json"));
        match self
            .publish_confirmed(
                &self.topology().events_exchange(),
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

    pub(crate) async fn consume_jobs(
        &self,
        kinds: &[JobKind],
        prefetch: u16,
    ) -> Result<AmqpJobStream, QueueError> {
        let name = &self.inner.config.connection_name;
        let queues: Vec<_> = kinds
            .iter()
            .map(|kind| (self.topology().job_queue(*kind), format!("{name}-{kind}")))
            .collect();
        self.consume(&queues, prefetch).await
    }

    /// Consumes the dead-letter watch queue (see [`Topology::dead_letter_watch_queue`]).
    pub(crate) async fn consume_dead_letters(&self) -> Result<AmqpJobStream, QueueError> {
        let tag = format!("{}-dead-letters", self.inner.config.connection_name);
        let queues = [(self.topology().dead_letter_watch_queue(), tag)];
        self.consume(&queues, 16).await
    }

    /// Consumes `(queue, consumer tag)` pairs on a dedicated connection, so a publisher reconnect
    /// never cancels consumers and a lost consumer connection is seen by the consumer loop.
    async fn consume(
        &self,
        queues: &[(String, String)],
        prefetch: u16,
    ) -> Result<AmqpJobStream, QueueError> {
        let connection = self.open_connection().await?;
        let channel = self
            .answer("opening a channel", connection.create_channel())
            .await?;
        self.declare(&channel).await?;
        self.answer(
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
            consumers.push(self.answer("starting a consumer", consume).await?);
        }
        Ok(AmqpJobStream {
            consumers: select_all(consumers),
            tags: queues.iter().map(|(_, tag)| tag.clone()).collect(),
            target: self.target(),
            _connection: connection,
            channel,
        })
    }

    pub(crate) async fn subscribe_events(
        &self,
        batch: &BatchId,
    ) -> Result<AmqpEventStream, QueueError> {
        let connection = self.open_connection().await?;
        let channel = self
            .answer("opening a channel", connection.create_channel())
            .await?;
        let t = self.topology();
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
            .map_err(|_| self.timed_out("declaring the events queue"))??;
        let consumer = self
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
            target: self.target(),
            _connection: connection,
        })
    }

    pub(crate) async fn delete_events_queue(&self, batch: &BatchId) -> Result<(), QueueError> {
        let channel = self.publisher().await?;
        let queue = self.topology().events_queue(batch);
        self.answer(
            "deleting the events queue",
            channel.queue_delete(&queue, QueueDeleteOptions::default()),
        )
        .await
        .map(|_| ())
    }
}

/// Maps a failed declaration or binding to [`QueueError::Refused`] naming `operation`.
fn refused(operation: &'static str) -> impl Fn(lapin::Error) -> QueueError {
    move |e| QueueError::Refused {
        operation,
        detail: e.to_string(),
    }
}

fn quorum_args() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString("quorum".into()),
    );
    args
}

fn fastrand_jitter(max_ms: u64) -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos) % max_ms.max(1)
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
    pub(crate) async fn next(&mut self) -> Option<Result<JobDelivery, QueueError>> {
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
        Some(Ok(JobDelivery {
            job,
            previous_deliveries,
            death_reason,
            handle: DeliveryHandle::Amqp(delivery.acker),
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

/// How long any one broker round-trip (connect, declare, publish confirm, settle, cancel) may
/// take; past it the connection is taken as lost and the caller reconnects (for a settle, the
/// broker then redelivers the message).
const BROKER_TIMEOUT: Duration = Duration::from_secs(30);

fn timed_out(what: &str, target: &str) -> QueueError {
    QueueError::Unavailable {
        target: target.to_owned(),
        detail: format!(
            "no answer within {} s while {what}",
            BROKER_TIMEOUT.as_secs()
        ),
    }
}

async fn within<T>(
    what: &'static str,
    target: &str,
    call: impl std::future::Future<Output = lapin::Result<T>>,
) -> Result<T, QueueError> {
    match tokio::time::timeout(BROKER_TIMEOUT, call).await {
        Ok(result) => result.map_err(|e| QueueError::Unavailable {
            target: target.to_owned(),
            detail: format!("{what}: {e}"),
        }),
        Err(_) => Err(timed_out(what, target)),
    }
}

async fn bounded(
    what: &'static str,
    settle: impl std::future::Future<Output = lapin::Result<()>>,
) -> Result<(), QueueError> {
    within(what, "the delivery's channel", settle).await
}

pub(crate) async fn ack(acker: lapin::acker::Acker) -> Result<(), QueueError> {
    bounded(
        "acknowledging a delivery",
        acker.ack(BasicAckOptions::default()),
    )
    .await
}

pub(crate) async fn requeue(acker: lapin::acker::Acker) -> Result<(), QueueError> {
    let options = BasicNackOptions {
        requeue: true,
        ..Default::default()
    };
    bounded("handing a delivery back", acker.nack(options)).await
}

pub(crate) async fn dead_letter(acker: lapin::acker::Acker) -> Result<(), QueueError> {
    bounded(
        "dead-lettering a delivery",
        acker.reject(BasicRejectOptions { requeue: false }),
    )
    .await
}

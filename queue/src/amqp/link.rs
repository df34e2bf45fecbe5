//! The link to the broker: one shared publishing connection and channel (publisher confirms on),
//! re-opened and the topology re-declared when lost; consumers open connections of their own.

use std::time::Duration;

use lapin::options::ConfirmSelectOptions;
use lapin::types::LongString;
use lapin::{Channel, Connection, ConnectionProperties};
use tokio::sync::Mutex;

use super::config::{redact_url, AmqpConfig};
use super::round_trip::{timed_out, within, BROKER_TIMEOUT};
use super::topology;
use crate::error::QueueError;

#[derive(Debug)]
struct Live {
    connection: Connection,
    publisher: Channel,
}

/// The configuration and the live publishing connection, shared by every clone of a queue.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) config: AmqpConfig,
    live: Mutex<Option<Live>>,
}

impl Link {
    pub(super) fn new(config: AmqpConfig) -> Self {
        Self {
            config,
            live: Mutex::new(None),
        }
    }

    pub(super) fn target(&self) -> String {
        redact_url(&self.config.url)
    }

    pub(super) async fn open_connection(&self) -> Result<Connection, QueueError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(LongString::from(self.config.connection_name.clone()));
        self.answer(
            "connecting",
            Connection::connect(&self.config.url, properties),
        )
        .await
    }

    /// Waits for one broker round-trip, at most [`BROKER_TIMEOUT`]: a broker that accepts TCP
    /// but never answers (stuck, overloaded, half-restarted) must not hang a worker or a
    /// scheduler. A timeout is an `Unavailable` error, so callers reconnect and retry.
    pub(super) async fn answer<T>(
        &self,
        what: &'static str,
        call: impl std::future::Future<Output = lapin::Result<T>>,
    ) -> Result<T, QueueError> {
        within(what, &self.target(), call).await
    }

    /// Drops the shared publishing connection, so the next publish opens a fresh one (after a
    /// timeout the old one may still look connected).
    pub(super) async fn forget_publisher(&self) {
        if let Some(live) = self.live.lock().await.take() {
            let closing = live.connection.close(0, "reconnecting");
            let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        }
    }

    /// The shared publishing channel, reconnecting if the connection was lost.
    pub(super) async fn publisher(&self) -> Result<Channel, QueueError> {
        let mut live = self.live.lock().await;
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
    pub(super) async fn declare(&self, channel: &Channel) -> Result<(), QueueError> {
        match tokio::time::timeout(BROKER_TIMEOUT, topology::declare(channel, &self.config)).await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out("declaring the topology")),
        }
    }

    pub(super) fn timed_out(&self, what: &str) -> QueueError {
        timed_out(what, &self.target())
    }
}

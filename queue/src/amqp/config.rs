//! How to reach the broker, and its URL as logs may show it.

use caravan_proto::Topology;

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

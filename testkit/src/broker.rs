//! A test's queues and exchanges leave the shared RabbitMQ with the test. Every test runs on a
//! queue prefix of its own, and each prefix holds five quorum queues; RabbitMQ reserves file
//! handles for every quorum queue, idle or not, and once its open-files limit is used up it
//! accepts TCP connections and never answers them. Left behind, a few CI runs' queues wedge the
//! broker for every test after them.

use std::time::Duration;

use caravan_proto::Topology;
use caravan_queue::{AmqpConfig, AmqpQueue};

/// The broker the tests share.
pub const TEST_BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Deletes `prefix`'s queues (with their messages) and exchanges from [`TEST_BROKER`]; callable
/// from `Drop`, inside or outside a Tokio runtime. A broker that does not answer is reported on
/// stderr, never a panic: cleaning up must not hide the test's own outcome.
pub fn remove_topology(prefix: &str) {
    let prefix = prefix.to_owned();
    let removed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let config = AmqpConfig {
                url: TEST_BROKER.to_owned(),
                topology: Topology::new(&prefix).map_err(|e| e.to_string())?,
                delivery_limit: 5,
                consumer_timeout_ms: 60_000,
                connection_name: format!("{prefix}-cleanup"),
            };
            match tokio::time::timeout(Duration::from_secs(60), AmqpQueue::delete_topology(config))
                .await
            {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err("no answer within 60 s".to_owned()),
            }
        })
    })
    .join();
    match removed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not remove the test's queues from RabbitMQ: {e}"),
        Err(_) => eprintln!("removing the test's queues from RabbitMQ panicked"),
    }
}

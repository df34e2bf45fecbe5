//! Opening what a command works with — the store, the broker, a worker's settings — from the
//! command line and environment, the same way for every command.

use anyhow::Context;
use caravan_proto::{ProfileName, Topology};
use caravan_queue::{redact_url, AmqpConfig, AmqpQueue, Queue};
use caravan_store::{LocalStore, S3Config, S3Store, Store};
use caravan_worker::{Isolation, ProfileSet, WorkerConfig};

use crate::cli::{BrokerArgs, StoreArgs};

/// A worker's settings: pipelines in child processes of this binary, the built-in profiles
/// plus those of `profiles`, each checked against this machine.
pub fn worker_config(profiles: Option<&std::path::Path>) -> anyhow::Result<WorkerConfig> {
    let program =
        std::env::current_exe().context("cannot find the caravan binary to run pipelines with")?;
    let mut config = WorkerConfig::new(Isolation::ChildProcess { program });
    if let Some(path) = profiles {
        config.profiles = ProfileSet::load(path).map_err(anyhow::Error::msg)?;
    }
    config.profiles.check().map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// Fails, naming the known profiles, unless `profiles` has `name`.
pub fn check_profile(profiles: &ProfileSet, name: &ProfileName) -> anyhow::Result<()> {
    if profiles.get(name).is_none() {
        let known: Vec<_> = profiles.names().map(ToString::to_string).collect();
        anyhow::bail!(
            "no profile named {name:?}; known profiles: {}",
            known.join(", ")
        );
    }
    Ok(())
}

/// The folder store of `--store-dir`, else the S3 bucket the environment configures.
pub async fn open_store(args: &StoreArgs) -> anyhow::Result<Store> {
    if let Some(dir) = &args.store_dir {
        return Ok(Store::Local(LocalStore::new(dir.clone())));
    }
    let config = S3Config::from_env(|name| std::env::var(name).ok())
        .context("S3 is not configured (or pass --store-dir to use a folder)")?;
    let store = S3Store::new(&config);
    if args.create_bucket {
        store.ensure_bucket().await?;
    }
    Ok(Store::S3(store))
}

/// Whether to wait for an unreachable broker.
#[derive(PartialEq)]
pub enum Wait {
    No,
    UntilReachable,
}

/// Each job queue's backlog, or `None` (with a warning) when the broker cannot say: the
/// batch's state comes from the store and is worth showing without it.
pub async fn queue_depths(args: &BrokerArgs) -> Option<Vec<caravan_queue::QueueDepth>> {
    let depths = match open_queue(args, "caravan-status", Wait::No).await {
        Ok(queue) => queue.depths().await,
        Err(e) => {
            tracing::warn!(error = %e, "RabbitMQ did not answer; queue depths are not shown (check CARAVAN_AMQP_URL, or pass --no-queues)");
            return None;
        }
    };
    match depths {
        Ok(depths) => depths,
        Err(e) => {
            tracing::warn!(error = %e, "RabbitMQ did not report queue depths; they are not shown");
            None
        }
    }
}

pub async fn open_queue(args: &BrokerArgs, name: &str, wait: Wait) -> anyhow::Result<Queue> {
    let config = AmqpConfig {
        url: amqp_url(args)?,
        topology: Topology::new(&args.queue_prefix)?,
        delivery_limit: args.delivery_limit,
        consumer_timeout_ms: args.consumer_timeout_minutes.saturating_mul(60_000),
        connection_name: name.to_owned(),
    };
    tracing::info!(broker = %redact_url(&config.url), prefix = %args.queue_prefix, "Connecting to RabbitMQ");
    let mut delay = std::time::Duration::from_secs(1);
    loop {
        match AmqpQueue::connect(config.clone()).await {
            Ok(queue) => return Ok(Queue::Amqp(queue)),
            Err(e) if e.is_retryable() && wait == Wait::UntilReachable => {
                tracing::warn!(error = %e, retry_in_s = delay.as_secs(), "RabbitMQ is not answering; the worker waits for it");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The broker URL, from `CARAVAN_AMQP_URL_FILE` (a mounted secret) when the URL itself is not
/// given: it holds the broker password.
fn amqp_url(args: &BrokerArgs) -> anyhow::Result<String> {
    match std::env::var_os("CARAVAN_AMQP_URL_FILE") {
        Some(path) if std::env::var_os("CARAVAN_AMQP_URL").is_none() => {
            let url = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "cannot read CARAVAN_AMQP_URL_FILE {}: mount the broker URL secret there, or set CARAVAN_AMQP_URL",
                    std::path::Path::new(&path).display()
                )
            })?;
            Ok(url.trim().to_owned())
        }
        _ => Ok(args.amqp_url.clone()),
    }
}

//! The consume loop: takes deliveries while a job slot is free, runs each as its own task,
//! reconnects when the broker goes away, and drains on shutdown (SIGTERM: stop consuming at
//! once, let jobs in flight finish within the grace, then hand back what is left).

use std::sync::Arc;
use std::time::Duration;

use caravan_queue::Queue;
use caravan_store::Store;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::WorkerConfig;
use crate::context::JobContext;
use crate::dead_letters::record_dead_letters;
use crate::job;
use crate::lease::Leases;
use crate::scratch;
use crate::sequencer;
use crate::signing;
use crate::telemetry::{server, Metrics, Readiness};

/// A worker: consumes jobs of its kinds until cancelled (or, in-process, until the queue is
/// closed).
#[derive(Debug)]
pub struct Worker {
    store: Store,
    queue: Queue,
    config: Arc<WorkerConfig>,
}

/// Why a worker stopped other than by request.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Queue(#[from] caravan_queue::QueueError),
    #[error("cannot serve metrics on {addr}: {source}; pick a free port with --metrics-addr")]
    Metrics {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare scratch directory {path}: {source}")]
    Scratch {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Worker {
    /// `config.scratch_dir` is a root that several workers on one host may share: each uses a
    /// subdirectory named after its process id.
    pub fn new(store: Store, queue: Queue, mut config: WorkerConfig) -> Self {
        config.scratch_dir = scratch::own(&config.scratch_dir);
        Self {
            store,
            queue,
            config: Arc::new(config),
        }
    }

    /// Runs until `cancel` fires or the (in-process) queue closes. On cancel: stops taking
    /// deliveries at once, lets jobs in flight finish within the shutdown grace, then hands
    /// what is still running back to the queue (child killed, uploads aborted).
    pub async fn run(self, cancel: CancellationToken) -> Result<(), WorkerError> {
        scratch::clean_stale(&self.config.scratch_dir)
            .await
            .map_err(|(path, source)| WorkerError::Scratch { path, source })?;
        let abort = CancellationToken::new();
        let slots = Arc::new(Semaphore::new(self.config.slots.max(1)));
        let mut tasks = JoinSet::new();
        let prefetch = u16::try_from(self.config.slots).unwrap_or(u16::MAX);
        let mut reconnect_delay = Duration::from_millis(500);
        info!(worker = %self.config.name, slots = self.config.slots, kinds = ?self.config.kinds, store = %self.store.describe(), "Worker started");
        let telemetry = Telemetry::start(&self.store, &self.queue, &self.config, &cancel).await?;
        let metrics = telemetry.metrics.clone();
        let readiness = telemetry.readiness.clone();
        // Learn before any job whether the store honours conditional writes: finding out at the
        // first commit would put three round-trips between the commit record and the receipt,
        // a window a killed worker can fall into (its redelivery then does the work again).
        if let Store::S3(s3) = &self.store {
            if let Err(e) = s3.honours_conditional_writes().await {
                warn!(error = %e, "Could not probe the store's conditional writes yet; the first commit will");
            }
        }
        let ctx = JobContext {
            store: self.store.clone(),
            queue: self.queue.clone(),
            config: self.config.clone(),
            leases: self.config.leases.then(|| {
                Leases::new(
                    self.store.clone(),
                    self.config.name.clone(),
                    metrics.clone(),
                )
            }),
            cancel: cancel.clone(),
            abort: abort.clone(),
            metrics: metrics.clone(),
        };
        let recorder = self
            .config
            .watch_dead_letters
            .then(|| tokio::spawn(record_dead_letters(ctx.clone())));
        let sequencer_cancel = CancellationToken::new();
        let sequencer = match &self.config.signer {
            Some(signer) => {
                if !publish_key(&self.store, signer, &cancel).await {
                    return Ok(());
                }
                info!(key_id = %signer.keys().key_id(), "Signing receipts and content credentials");
                Some(tokio::spawn(sequencer::run(
                    self.store.clone(),
                    self.queue.clone(),
                    signer.clone(),
                    metrics.clone(),
                    sequencer_cancel.clone(),
                )))
            }
            None => None,
        };

        // Kept after the loop: jobs in flight settle on its connection while they drain.
        let mut stopped_stream = None;
        'connect: loop {
            let mut stream = match self.queue.consume_jobs(&self.config.kinds, prefetch).await {
                Ok(stream) => {
                    reconnect_delay = Duration::from_millis(500);
                    readiness.set_consuming(true);
                    info!(kinds = ?self.config.kinds, "Consuming jobs");
                    stream
                }
                Err(e) if e.is_retryable() => {
                    readiness.set_consuming(false);
                    warn!(error = %e, delay_ms = reconnect_delay.as_millis() as u64, "Cannot consume; reconnecting");
                    tokio::select! {
                        _ = tokio::time::sleep(reconnect_delay) => {}
                        _ = cancel.cancelled() => break 'connect,
                    }
                    reconnect_delay = (reconnect_delay * 2).min(Duration::from_secs(30));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            loop {
                while let Some(done) = tasks.try_join_next() {
                    report_task_end(done);
                }
                let next = async {
                    let permit = slots
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("the semaphore is never closed");
                    (permit, stream.next().await)
                };
                let (permit, delivery) = tokio::select! {
                    next = next => next,
                    _ = cancel.cancelled() => {
                        stream.stop().await;
                        stopped_stream = Some(stream);
                        break 'connect;
                    }
                };
                match delivery {
                    None => break 'connect,
                    Some(Err(e)) => {
                        warn!(error = %e, "Lost the job stream; reconnecting");
                        readiness.set_consuming(false);
                        metrics.reconnected();
                        continue 'connect;
                    }
                    Some(Ok(delivery)) => {
                        let ctx = ctx.clone();
                        tasks.spawn(async move {
                            job::process(ctx, delivery).await;
                            drop(permit);
                        });
                    }
                }
            }
        }

        info!(
            in_flight = tasks.len(),
            grace_s = self.config.shutdown_grace.as_secs(),
            "Worker stopping; no new deliveries, waiting for jobs in flight"
        );
        if drain(&mut tasks, self.config.shutdown_grace).await.is_err() {
            warn!(
                in_flight = tasks.len(),
                "Shutdown grace elapsed; handing jobs in flight back to the queue"
            );
            abort.cancel();
            if drain(&mut tasks, Duration::from_secs(30)).await.is_err() {
                tasks.abort_all();
            }
        }
        drop(stopped_stream);
        if let Some(recorder) = recorder {
            recorder.abort();
        }
        if let Some(sequencer) = sequencer {
            // In-process, the sequencer ends by itself once the closed queue is drained; with
            // a broker it publishes what it appended and hands the rest to the next one.
            if matches!(self.queue, Queue::Amqp(_)) {
                sequencer_cancel.cancel();
            }
            if let Err(e) = sequencer.await {
                error!(error = %e, "The log sequencer panicked");
            }
        }
        telemetry.stop().await;
        info!("Worker stopped");
        Ok(())
    }
}

/// The worker's metrics and readiness, the store probe, and (with an address) their endpoints;
/// turns unready the moment shutdown is requested.
struct Telemetry {
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Telemetry {
    async fn start(
        store: &Store,
        queue: &Queue,
        config: &WorkerConfig,
        cancel: &CancellationToken,
    ) -> Result<Self, WorkerError> {
        let metrics = Arc::new(Metrics::new());
        metrics.set_slots(config.slots);
        let readiness = Arc::new(Readiness::default());
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        if let Some(addr) = config.metrics_addr {
            let served = server::serve(addr, metrics.clone(), readiness.clone(), stop.clone())
                .await
                .map_err(|source| WorkerError::Metrics { addr, source })?;
            tasks.push(served);
        }
        tasks.push(tokio::spawn(readiness.clone().probe(
            store.clone(),
            queue.clone(),
            metrics.clone(),
            stop.clone(),
        )));
        let (draining, cancel, stopped) = (readiness.clone(), cancel.clone(), stop.clone());
        let unready = metrics.clone();
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {
                    draining.set_draining();
                    unready.set_ready(false);
                }
                _ = stopped.cancelled() => {}
            }
        }));
        Ok(Self {
            metrics,
            readiness,
            stop,
            tasks,
        })
    }

    async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Publishes the signing key's public half in the store, retrying while the store is away;
/// false if cancelled first.
async fn publish_key(
    store: &Store,
    signer: &caravan_trust::Signer,
    cancel: &CancellationToken,
) -> bool {
    let mut delay = Duration::from_millis(500);
    loop {
        match signing::publish_public_key(store, signer).await {
            Ok(()) => return true,
            Err(e) => {
                warn!(error = %e, retry_in_s = delay.as_secs_f32(), "Cannot publish the public key; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = cancel.cancelled() => return false,
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Waits up to `limit` for every task to end.
async fn drain(
    tasks: &mut JoinSet<()>,
    limit: Duration,
) -> Result<(), tokio::time::error::Elapsed> {
    tokio::time::timeout(limit, async {
        while let Some(done) = tasks.join_next().await {
            report_task_end(done);
        }
    })
    .await
}

fn report_task_end(result: Result<(), tokio::task::JoinError>) {
    if let Err(e) = result {
        if e.is_panic() {
            error!(error = %e, "A job task panicked; its delivery will be redelivered");
        }
    }
}

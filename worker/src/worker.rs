//! The consume loop: takes deliveries while a job slot is free, runs each as its own task,
//! reconnects when the broker goes away, and drains on shutdown.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use caravan_queue::Queue;
use caravan_store::Store;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::job::{self, JobContext};
use crate::WorkerConfig;

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
        let root = config.scratch_dir.clone();
        config.scratch_dir = root.join(format!("w{}", std::process::id()));
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
        self.clean_scratch().await?;
        let abort = CancellationToken::new();
        let slots = Arc::new(Semaphore::new(self.config.slots.max(1)));
        let mut tasks = JoinSet::new();
        let prefetch = u16::try_from(self.config.slots).unwrap_or(u16::MAX);
        let mut reconnect_delay = Duration::from_millis(500);
        info!(worker = %self.config.name, slots = self.config.slots, kinds = ?self.config.kinds, store = %self.store.describe(), "Worker started");
        let ctx = JobContext {
            store: self.store.clone(),
            queue: self.queue.clone(),
            config: self.config.clone(),
            cancel: cancel.clone(),
            abort: abort.clone(),
        };
        let recorder = self
            .config
            .watch_dead_letters
            .then(|| tokio::spawn(record_dead_letters(ctx.clone())));

        // Kept after the loop: jobs in flight settle on its connection while they drain.
        let mut stopped_stream = None;
        'connect: loop {
            let mut stream = match self.queue.consume_jobs(&self.config.kinds, prefetch).await {
                Ok(stream) => {
                    reconnect_delay = Duration::from_millis(500);
                    info!(kinds = ?self.config.kinds, "Consuming jobs");
                    stream
                }
                Err(e) if e.is_retryable() => {
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
        info!("Worker stopped");
        Ok(())
    }

    /// Removes what jobs of earlier, crashed workers on this host left behind: every `w<pid>`
    /// directory whose process is gone, and this process's own.
    async fn clean_scratch(&self) -> Result<(), WorkerError> {
        let own = &self.config.scratch_dir;
        let root = own.parent().unwrap_or(own);
        let scratch_err = |source| WorkerError::Scratch {
            path: root.to_owned(),
            source,
        };
        match tokio::fs::read_dir(root).await {
            Ok(mut entries) => {
                while let Some(entry) = entries.next_entry().await.map_err(scratch_err)? {
                    let path = entry.path();
                    let stale = entry
                        .file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix('w'))
                        .and_then(|pid| pid.parse::<u32>().ok())
                        .is_some_and(|pid| {
                            pid == std::process::id()
                                || !Path::new(&format!("/proc/{pid}")).exists()
                        });
                    if stale {
                        if let Err(e) = tokio::fs::remove_dir_all(&path).await {
                            warn!(path = %path.display(), error = %e, "Could not remove stale scratch");
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(scratch_err(e)),
        }
        tokio::fs::create_dir_all(own).await.map_err(scratch_err)
    }
}

/// Records a failure for each job the broker dead-letters, reconnecting as needed.
async fn record_dead_letters(ctx: JobContext) {
    let mut delay = Duration::from_millis(500);
    loop {
        let mut stream = match ctx.queue.consume_dead_letters().await {
            Ok(Some(stream)) => stream,
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "Cannot watch dead letters; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        delay = Duration::from_millis(500);
        while let Some(delivery) = stream.next().await {
            match delivery {
                Ok(delivery) => job::record_dead_letter(&ctx, delivery).await,
                Err(e) => {
                    warn!(error = %e, "Lost the dead-letter stream; reconnecting");
                    break;
                }
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

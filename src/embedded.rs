//! `caravan run`: everything in one process — the scheduler, an in-process queue, worker slots
//! and a local-directory store. What a new user runs first; no broker or S3 needed.

use std::path::{Path, PathBuf};

use caravan_queue::{MemoryQueue, Queue};
use caravan_store::{LocalStore, Store};
use caravan_worker::{Worker, WorkerConfig};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use caravan_scheduler::{submit, MasterMode, Source, SubmitOptions, Summary};

/// Processes every file below `source` into the store at `out`, with `worker` settings; the
/// submission waits for every job and reads masters in place whatever `options` says.
pub async fn run(
    source: &Path,
    out: &Path,
    worker: WorkerConfig,
    mut options: SubmitOptions,
    cancel: CancellationToken,
) -> anyhow::Result<Summary> {
    let store = Store::Local(LocalStore::new(PathBuf::from(out)));
    let workers = InProcess::start(&store, worker, &cancel);
    options.masters = MasterMode::InPlace;
    options.wait = true;
    let source = Source::Folder(source.to_owned());
    let result = tokio::select! {
        result = submit(&store, &workers.queue, &source, &options) => result.map_err(anyhow::Error::from),
        _ = cancel.cancelled() => Err(anyhow::anyhow!("interrupted; run the same command again to finish the batch")),
    };
    workers.stop().await?;
    result
}

/// Worker slots in this process, taking jobs from an in-process queue.
pub struct InProcess {
    pub queue: Queue,
    memory: MemoryQueue,
    cancel: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// Starts the workers on `store`; they stop with `cancel` or [`Self::stop`].
    pub fn start(store: &Store, mut config: WorkerConfig, cancel: &CancellationToken) -> Self {
        // One process, one in-process queue: no duplicate deliveries to guard against.
        config.leases = false;
        let memory = MemoryQueue::new();
        let queue = Queue::Memory(memory.clone());
        let cancel = cancel.child_token();
        let worker = Worker::new(store.clone(), queue.clone(), config);
        let stop = cancel.clone();
        let task = tokio::spawn(async move { worker.run(stop).await.map_err(anyhow::Error::from) });
        Self {
            queue,
            memory,
            cancel,
            task,
        }
    }

    /// Lets the workers finish what they hold, then stops them.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.memory.close();
        self.cancel.cancel();
        self.task.await.expect("the worker task does not panic")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;

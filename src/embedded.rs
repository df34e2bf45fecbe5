//! `caravan run`: everything in one process — the scheduler, an in-process queue, worker slots
//! and a local-directory store. What a new user runs first; no broker or S3 needed.

use std::path::{Path, PathBuf};

use caravan_queue::{MemoryQueue, Queue};
use caravan_store::{LocalStore, Store};
use caravan_worker::{Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

use caravan_scheduler::{submit, MasterMode, Source, SubmitOptions, Summary};

/// Processes every file below `source` into the store at `out`, with `worker` settings; the
/// submission waits for every job and reads masters in place whatever `options` says.
pub async fn run(
    source: &Path,
    out: &Path,
    mut worker: WorkerConfig,
    mut options: SubmitOptions,
    cancel: CancellationToken,
) -> anyhow::Result<Summary> {
    let store = Store::Local(LocalStore::new(PathBuf::from(out)));
    // One process, one in-process queue: no duplicate deliveries to guard against.
    worker.leases = false;
    let memory = MemoryQueue::new();
    let queue = Queue::Memory(memory.clone());
    let worker_cancel = cancel.child_token();
    let workers =
        tokio::spawn(Worker::new(store.clone(), queue.clone(), worker).run(worker_cancel.clone()));

    options.masters = MasterMode::InPlace;
    options.wait = true;
    let source = Source::Folder(source.to_owned());
    let result = tokio::select! {
        result = submit(&store, &queue, &source, &options) => result.map_err(anyhow::Error::from),
        _ = cancel.cancelled() => Err(anyhow::anyhow!("interrupted; run the same command again to finish the batch")),
    };
    memory.close();
    worker_cancel.cancel();
    workers.await.expect("the worker task does not panic")?;
    result
}

#[cfg(test)]
mod tests;

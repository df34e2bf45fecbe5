//! `caravan run`: everything in one process — the scheduler, an in-process queue, worker slots
//! and a local-directory store. What a new user runs first; no broker or S3 needed.

use std::path::{Path, PathBuf};

use caravan_proto::ProfileName;
use caravan_queue::{MemoryQueue, Queue};
use caravan_store::{LocalStore, Store};
use caravan_worker::{Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

use crate::{submit, MasterMode, SchedulerError, Source, SubmitOptions, Summary};

/// Processes every file below `source` into the store at `out`, with `worker` settings.
pub async fn run(
    source: &Path,
    out: &Path,
    profile: ProfileName,
    mut worker: WorkerConfig,
    progress: bool,
    retry_failed: bool,
    cancel: CancellationToken,
) -> Result<Summary, SchedulerError> {
    let store = Store::Local(LocalStore::new(PathBuf::from(out)));
    // One process, one in-process queue: no duplicate deliveries to guard against.
    worker.leases = false;
    let memory = MemoryQueue::new();
    let queue = Queue::Memory(memory.clone());
    let worker_cancel = cancel.child_token();
    let workers =
        tokio::spawn(Worker::new(store.clone(), queue.clone(), worker).run(worker_cancel.clone()));

    let options = SubmitOptions {
        profile,
        masters: MasterMode::InPlace,
        wait: true,
        progress,
        retry_failed,
    };
    let source = Source::Folder(source.to_owned());
    let result = tokio::select! {
        result = submit(&store, &queue, &source, &options) => result,
        _ = cancel.cancelled() => Err(SchedulerError::Queue(caravan_queue::QueueError::Closed)),
    };
    memory.close();
    worker_cancel.cancel();
    workers.await.expect("the worker task does not panic")?;
    result
}

use std::sync::Arc;
use std::time::Duration;

use caravan_proto::{keys, LogRequest};
use caravan_queue::{MemoryQueue, Queue};
use caravan_store::{LocalStore, Store};
use caravan_trust::log::LogWriter;
use caravan_trust::Signer;
use tokio_util::sync::CancellationToken;

fn request(n: u8) -> LogRequest {
    LogRequest {
        v: 1,
        receipt_key: format!("receipts/{n:064x}/default.json"),
        receipt_sha256: format!("{:064x}", u32::from(n) * 3),
        signature_sha256: format!("{:064x}", u32::from(n) * 7),
    }
}

struct Log {
    _dir: tempfile::TempDir,
    store: Store,
    memory: MemoryQueue,
    signer: Arc<Signer>,
}

impl Log {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        caravan_trust::keys::generate(&dir.path().join("keys")).unwrap();
        let signer = Arc::new(Signer::load_dir(&dir.path().join("keys")).unwrap());
        let store = Store::Local(LocalStore::new(dir.path().join("store")));
        Self {
            _dir: dir,
            store,
            memory: MemoryQueue::new(),
            signer,
        }
    }

    fn start(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(super::run(
            self.store.clone(),
            Queue::Memory(self.memory.clone()),
            self.signer.clone(),
            Arc::new(crate::telemetry::Metrics::new()),
            CancellationToken::new(),
        ))
    }

    async fn send(&self, n: u8) {
        (Queue::Memory(self.memory.clone()))
            .publish_log_request(&request(n))
            .await
            .unwrap();
    }

    async fn entries(&self) -> Vec<String> {
        (self
            .store
            .list(keys::LOG_ENTRIES)
            .await
            .unwrap()
            .into_iter())
        .map(|(k, _)| k)
        .collect()
    }

    async fn has_head(&self, size: u64) -> bool {
        (self.store.get_bytes(&keys::tree_head(size)).await.unwrap()).is_some()
    }

    /// Closes the queue and waits for the sequencer to publish and end.
    async fn finish(&self, task: tokio::task::JoinHandle<()>) {
        self.memory.close();
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("the sequencer ends once the queue is closed and drained")
            .unwrap();
    }
}

#[tokio::test]
async fn a_sequencer_waiting_its_turn_appends_after_what_the_active_one_appended() {
    let log = Log::new();
    let task = log.start();
    // Consuming, not yet active: meanwhile the active sequencer (elsewhere) appends two.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut active = LogWriter::open(log.store.clone(), log.signer.keys().clone())
        .await
        .unwrap();
    active.append(&request(0)).await.unwrap();
    active.append(&request(1)).await.unwrap();
    drop(active);
    // It dies; its unacknowledged request 1 comes again, then a new one.
    log.send(1).await;
    log.send(2).await;
    log.finish(task).await;

    let entries = log.entries().await;
    assert_eq!(entries.len(), 3, "one entry per receipt: {entries:?}");
    for (i, key) in entries.iter().enumerate() {
        assert!(
            key.starts_with(&keys::log_entry_index_prefix(i as u64)),
            "{entries:?}"
        );
    }
    assert!(log.has_head(3).await, "a head covers all three");
    assert_eq!(log.memory.log_len(), 0);
}

#[tokio::test]
async fn requests_stay_queued_until_a_tree_head_covers_them() {
    let log = Log::new();
    let first = log.start();
    log.send(0).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while log.entries().await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "nothing appended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // It dies after appending, before the quiet moment that publishes a head.
    first.abort();
    let _ = first.await;
    assert!(
        !log.has_head(1).await,
        "published within the quiet time: the scenario did not happen"
    );
    assert_eq!(
        log.memory.log_len(),
        1,
        "the request went back to the queue"
    );

    let next = log.start();
    log.finish(next).await;
    assert_eq!(
        log.entries().await.len(),
        1,
        "found in the log, not appended again"
    );
    assert!(
        log.has_head(1).await,
        "the next sequencer published a head over it"
    );
    assert_eq!(log.memory.log_len(), 0);
}

//! The worker's settings.

use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use caravan_proto::JobKind;
use caravan_trust::Signer;

use crate::profiles::ProfileSet;

/// Where pipelines run.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// In a child process of `program` (the `caravan` binary), via its hidden `exec-job`
    /// subcommand. What every deployment uses.
    ChildProcess { program: PathBuf },
    /// In the worker's own process. Only for unit tests of this crate, whose test binary is not
    /// `caravan`: a crashing decoder would take the test down with it.
    InProcess,
}

/// Everything a [`crate::Worker`] needs besides its store and queue.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at once; also the broker prefetch per job kind.
    pub slots: usize,
    /// Job kinds this worker takes (operators may run image-only or video-only pools).
    pub kinds: Vec<JobKind>,
    /// Per-job scratch directories are made below this; cleaned on start.
    pub scratch_dir: PathBuf,
    pub profiles: ProfileSet,
    pub isolation: Isolation,
    /// Attempts at a job that keeps failing transiently before it is failed for good.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt, capped at five minutes, with jitter
    /// ([`crate::retry::backoff`]).
    pub retry_base_delay: Duration,
    /// How long in-flight jobs may run on after shutdown was requested.
    pub shutdown_grace: Duration,
    /// Shown in events, receipts and the broker's connection list.
    pub name: String,
    /// Record a failure for every job the broker dead-letters (delivery limit reached).
    pub watch_dead_letters: bool,
    /// Take a lease in the store before processing, so that duplicate deliveries of one asset
    /// (a job published twice, a redelivery racing the original) do the work once. Needed with a
    /// broker; the in-process queue never duplicates.
    pub leases: bool,
    /// A deliberate crash for fault-injection tests; `None` in every deployment.
    pub failpoint: Option<Failpoint>,
    /// The signing key and content-credential signer: with one, outputs carry content
    /// credentials, receipts are signed and logged, and the worker runs a log sequencer.
    pub signer: Option<Arc<Signer>>,
    /// Where to serve `/metrics`, `/healthz` and `/readyz`; `None`: nowhere.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Places where a fault-injection test can make the worker process die on purpose
/// (`CARAVAN_FAILPOINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// After every output of a job is stored, before its receipt is written.
    BeforeReceipt,
    /// After the receipt is committed, before its signature is stored and it is logged.
    AfterReceipt,
}

impl std::str::FromStr for Failpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "before_receipt" => Ok(Failpoint::BeforeReceipt),
            "after_receipt" => Ok(Failpoint::AfterReceipt),
            other => Err(format!(
                "unknown failpoint {other:?} (known: before_receipt, after_receipt)"
            )),
        }
    }
}

impl WorkerConfig {
    /// Sensible defaults: one slot per core, both kinds, scratch under the system temp dir.
    pub fn new(isolation: Isolation) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            slots: cores,
            kinds: JobKind::ALL.to_vec(),
            scratch_dir: std::env::temp_dir().join("caravan-scratch"),
            profiles: ProfileSet::builtin(),
            isolation,
            max_attempts: 5,
            retry_base_delay: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(60),
            name: default_worker_name(),
            watch_dead_letters: true,
            leases: true,
            failpoint: None,
            signer: None,
            metrics_addr: None,
        }
    }
}

/// `hostname:pid`.
pub fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "worker".to_owned());
    format!("{host}:{}", std::process::id())
}

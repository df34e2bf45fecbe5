//! What a submission is given: its source, where masters go, and how it runs.

use caravan_proto::{BatchId, ProfileName};
use tokio_util::sync::CancellationToken;

/// What a batch is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder on this machine, searched recursively.
    Folder(std::path::PathBuf),
    /// Objects below a key prefix in the store (masters uploaded there directly).
    StorePrefix(String),
}

/// How workers get at the masters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterMode {
    /// Workers share this machine's filesystem (embedded mode): jobs point at the files.
    InPlace,
    /// Masters are uploaded to `masters/<sha256>` (cluster mode); existing ones are not sent again.
    Upload,
}

#[derive(Debug, Clone)]
pub struct SubmitOptions {
    pub profile: ProfileName,
    pub masters: MasterMode,
    /// Wait for every job to end before returning.
    pub wait: bool,
    /// Draw progress bars on stderr (when it is a terminal).
    pub progress: bool,
    /// Publish assets again whose earlier job failed permanently.
    pub retry_failed: bool,
    /// The BCP 47 tag of the catalogue's untagged text columns (checked by
    /// [`crate::metadata::language_tag`]); `None`: not said.
    pub language: Option<String>,
    /// Assets checked, uploaded and published at the same time.
    pub uploads: usize,
    /// Go on with this interrupted batch instead of starting one.
    pub resume: Option<BatchId>,
    /// Without [`Self::resume`], go on with this source's interrupted batch if it has one
    /// (submitting to a broker only: the in-process queue loses what it held).
    pub resume_unfinished: bool,
    /// Stops the submission (Ctrl-C): what is in flight finishes, the index says where it
    /// stopped, and the submission returns [`SchedulerError::Interrupted`].
    pub stop: CancellationToken,
}

/// [`SubmitOptions::uploads`] unless told otherwise: enough requests in flight to fill a fast
/// link to an S3 server (and each large master's parts go several at a time on top).
pub const DEFAULT_UPLOADS: usize = 8;

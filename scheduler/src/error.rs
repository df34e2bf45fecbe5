use std::path::PathBuf;

/// Why a submission could not go ahead at all. Problems with single files are not errors: they
/// are recorded in the batch index and the summary.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("cannot read the submission folder {path}: {source}; check the path and permissions")]
    Source {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Store(#[from] caravan_store::StoreError),

    #[error(transparent)]
    Queue(#[from] caravan_queue::QueueError),

    #[error("batch {0} is not in the store; check the batch id and that the store settings match the submission's")]
    UnknownBatch(String),

    #[error("the batch index {key} is damaged: {detail}")]
    BadIndex { key: String, detail: String },

    #[error("the submission of batch {batch} stopped; what was published goes on, and `caravan submit --resume {batch}` (with the same source) submits the rest")]
    Interrupted { batch: String },

    #[error("batch {batch} of the same source and profile is still being submitted, or its submitter died: `caravan submit --resume {batch}` goes on with it if no other submission is running, `--new-batch` starts a batch of its own")]
    StillSubmitting { batch: String },

    #[error("stopped waiting for batch {batch}; its jobs go on, see `caravan status {batch}`")]
    StoppedWaiting { batch: String },

    #[error("batch {batch} was a submission of {submitted} with profile {profile}; resume it with that source and profile")]
    ResumeMismatch {
        batch: String,
        submitted: String,
        profile: String,
    },

    #[error("{0}; fix the catalogue and submit again (nothing was published)")]
    Catalogue(String),
}

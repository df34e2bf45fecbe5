use caravan_scheduler::SchedulerError;
use caravan_store::StoreError;

/// Why an exhibition could not be built; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ExhibitionError {
    #[error("exhibition file {path}: {detail}")]
    File { path: String, detail: String },
    #[error("{0}")]
    Works(String),
    #[error(
        "site {site}: {} works have no receipt for profile {profile}: {}; build without --no-process to process them first (or run `caravan run <folder> --profile {profile}`, `caravan submit <folder> --profile {profile}` in a cluster), then build again",
        works.len(),
        works.join(", ")
    )]
    NotProcessed {
        site: String,
        profile: String,
        works: Vec<String>,
    },
    #[error("{0}")]
    Share(String),
    #[error("pack folder {path}: {detail}")]
    Pack { path: String, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
}

impl ExhibitionError {
    pub(crate) fn pack(path: &std::path::Path, detail: impl ToString) -> Self {
        Self::Pack {
            path: path.display().to_string(),
            detail: detail.to_string(),
        }
    }
}

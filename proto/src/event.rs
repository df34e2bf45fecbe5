//! Events a worker sends back while it works on a job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{AssetId, BatchId};

/// A progress report about one job, routed to the scheduler by `batch_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub job_id: Uuid,
    pub batch_id: BatchId,
    pub asset_id: AssetId,
    /// Which worker sent it (host name and process id).
    #[serde(default)]
    pub worker: String,
    #[serde(default = "Utc::now")]
    pub at: DateTime<Utc>,
    pub body: EventBody,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Started {
        attempt: u32,
    },
    /// `percent` of the job done, 0–100.
    Progress {
        percent: f32,
    },
    Succeeded {
        receipt_key: String,
        /// True when the receipt already existed and no work was done.
        #[serde(default)]
        skipped: bool,
    },
    Failed {
        /// A stable, machine-readable classification, e.g. `undecodable_input`.
        code: String,
        /// What went wrong and what to do next, for people.
        message: String,
        /// True if the job will be tried again; false if this failure is final.
        retryable: bool,
    },
    /// An event type this binary does not know (written by a newer one).
    #[serde(other)]
    Unknown,
}

impl EventBody {
    /// Whether this event ends the job (for this batch's bookkeeping).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            EventBody::Succeeded { .. }
                | EventBody::Failed {
                    retryable: false,
                    ..
                }
        )
    }
}

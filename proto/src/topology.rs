//! Exchange and queue names. A prefix lets several deployments (or parallel tests) share one
//! broker without seeing each other's messages.

use crate::ids::{BatchId, IdError, ProfileName};
use crate::job::JobKind;

/// All AMQP names of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            prefix: "caravan".to_owned(),
        }
    }
}

impl Topology {
    /// `prefix` follows the rules of a profile name (letters, digits, `-`, `_`, `.`).
    pub fn new(prefix: &str) -> Result<Self, IdError> {
        let checked = ProfileName::parse(prefix)?;
        Ok(Self {
            prefix: checked.to_string(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Direct exchange jobs are published to, routed by [`JobKind::as_str`].
    pub fn jobs_exchange(&self) -> String {
        format!("{}.jobs", self.prefix)
    }

    /// The durable quorum queue of one job kind.
    pub fn job_queue(&self, kind: JobKind) -> String {
        format!("{}.jobs.{}", self.prefix, kind.as_str())
    }

    /// Fanout exchange that receives rejected and over-delivered jobs.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }

    /// Where dead-lettered jobs wait for an operator.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// A second queue on the dead-letter exchange, consumed by workers to record why each job
    /// was dead-lettered; the dead-letter queue itself keeps every message for operators.
    pub fn dead_letter_watch_queue(&self) -> String {
        format!("{}.dead.watch", self.prefix)
    }

    /// Topic exchange for job events, routed by batch id.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.prefix)
    }

    /// The queue one batch's events are collected in.
    pub fn events_queue(&self, batch: &BatchId) -> String {
        format!("{}.events.{}", self.prefix, batch)
    }

    /// Durable quorum queue of signed receipts waiting to be appended to the transparency log,
    /// consumed by one sequencer at a time (single active consumer).
    pub fn log_queue(&self) -> String {
        format!("{}.log", self.prefix)
    }

    /// Every durable queue this deployment declares: the job queues, both dead-letter queues and
    /// the log queue. (A batch's events queue is not among them: it expires on its own.)
    pub fn durable_queues(&self) -> Vec<String> {
        JobKind::ALL
            .into_iter()
            .map(|kind| self.job_queue(kind))
            .chain([
                self.dead_letter_queue(),
                self.dead_letter_watch_queue(),
                self.log_queue(),
            ])
            .collect()
    }

    /// Every exchange this deployment declares.
    pub fn exchanges(&self) -> [String; 3] {
        [
            self.jobs_exchange(),
            self.dead_letter_exchange(),
            self.events_exchange(),
        ]
    }
}

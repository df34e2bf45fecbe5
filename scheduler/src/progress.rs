//! How fast a batch is finishing and when it will be done: completions (receipt times) in the
//! last ten minutes, or since the batch began if that is more recent.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// The completion rate is measured over at most this much of the recent past.
pub const WINDOW: Duration = Duration::from_secs(600);

const STORE_CLOCK_GRAIN: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// Seconds the rate was measured over.
    pub window_seconds: u64,
    /// Assets finished within the window.
    pub finished_in_window: usize,
    pub per_minute: f64,
    /// Seconds until the pending assets are done at that rate; `None` when nothing finished
    /// within the window (no rate to go by).
    pub eta_seconds: Option<u64>,
}

/// The rate of the `finished` times that fall in the window ending `now`, and the time
/// `pending` more would take at that rate.
pub fn estimate(
    now: SystemTime,
    submitted: SystemTime,
    finished: &[SystemTime],
    pending: usize,
) -> Progress {
    // The batch index is written once every job is published: in a large submission, the
    // first assets may finish before it. The batch began at whichever came first.
    let began = finished.iter().copied().fold(submitted, SystemTime::min);
    let since_start = now.duration_since(began).unwrap_or_default();
    let window = WINDOW.min(since_start).max(Duration::from_secs(1));
    // S3 gives modification times to the second: a receipt stored in the window's first
    // second may carry the second before.
    let start = now - window - STORE_CLOCK_GRAIN;
    let in_window = finished.iter().filter(|t| **t >= start).count();
    let per_second = in_window as f64 / window.as_secs_f64();
    Progress {
        window_seconds: window.as_secs(),
        finished_in_window: in_window,
        per_minute: per_second * 60.0,
        eta_seconds: (in_window > 0).then(|| (pending as f64 / per_second).ceil() as u64),
    }
}

#[cfg(test)]
mod tests;

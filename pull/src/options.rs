//! How a pull behaves: parallel downloads, the rate limit, retries, timeouts.

use std::time::Duration;

/// How a pull behaves.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Files downloaded at once.
    pub parallel: usize,
    /// Bytes per second over every download together; `None` for no limit.
    pub limit_rate: Option<u64>,
    /// Attempts after a failure without progress, per file, before giving up.
    pub retries: u32,
    /// Bounds connecting and each read.
    pub timeout: Duration,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            parallel: 4,
            limit_rate: None,
            retries: 8,
            timeout: Duration::from_secs(30),
        }
    }
}

//! Retries after a failure worth another attempt: waits doubling from 250 ms to 30 s, and gives
//! up after `retries` failures in a row without progress.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::traffic::Traffic;
use crate::PullError;

const FIRST: Duration = Duration::from_millis(250);
const LONGEST: Duration = Duration::from_secs(30);

pub(crate) struct Backoff {
    retries: u32,
    attempts: u32,
    delay: Duration,
}

impl Backoff {
    pub(crate) fn new(retries: u32) -> Self {
        Self {
            retries,
            attempts: 0,
            delay: FIRST,
        }
    }

    /// Bytes arrived: the next failure starts the count afresh.
    pub(crate) fn progressed(&mut self) {
        self.attempts = 0;
        self.delay = FIRST;
    }

    /// One more failure reading `what`: waits and returns `Ok`, or gives up.
    pub(crate) async fn failed(
        &mut self,
        what: &str,
        detail: String,
        traffic: &Traffic,
    ) -> Result<(), PullError> {
        self.attempts += 1;
        if self.attempts > self.retries {
            return Err(PullError::Unreachable {
                what: what.to_owned(),
                attempts: self.attempts,
                detail,
            });
        }
        traffic.retries.fetch_add(1, Relaxed);
        tracing::info!(what, retry_in_ms = self.delay.as_millis() as u64, %detail, "Download interrupted; resuming");
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(LONGEST);
        Ok(())
    }
}

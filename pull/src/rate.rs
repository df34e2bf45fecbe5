//! `--limit-rate`: one budget of bytes per second shared by every download. Hand-written: it is a
//! dozen lines over Tokio's clock, where a rate-limiting crate counts requests, not bytes.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Limiter {
    bytes_per_second: Option<u64>,
    /// When the budget is next free.
    next: Mutex<Instant>,
}

impl Limiter {
    pub(crate) fn new(bytes_per_second: Option<u64>) -> Self {
        Self {
            bytes_per_second: bytes_per_second.filter(|&r| r > 0),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits until `bytes` more fit in the budget.
    pub(crate) async fn take(&self, bytes: usize) {
        let Some(rate) = self.bytes_per_second else {
            return;
        };
        let start = {
            let mut next = self
                .next
                .lock()
                .expect("the limiter never panics holding its lock");
            let start = (*next).max(Instant::now());
            *next = start + Duration::from_secs_f64(bytes as f64 / rate as f64);
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

#[cfg(test)]
mod tests {
    use crate::rate::*;

    #[tokio::test(start_paused = true)]
    async fn the_budget_is_shared_and_spent_in_order() {
        let limiter = Limiter::new(Some(1000));
        let begun = Instant::now();
        limiter.take(500).await; // free at once
        limiter.take(500).await; // waits 0.5 s
        limiter.take(1000).await; // waits 0.5 s more
        assert_eq!(begun.elapsed(), Duration::from_secs(1));
        let unlimited = Limiter::new(None);
        let begun = Instant::now();
        unlimited.take(1 << 30).await;
        assert_eq!(begun.elapsed(), Duration::ZERO);
    }
}

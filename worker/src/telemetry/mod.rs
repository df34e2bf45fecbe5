//! What operators watch: Prometheus metrics ([`metrics`]), readiness ([`readiness`]) and the
//! HTTP endpoints serving both ([`server`]: `/metrics`, `/healthz`, `/readyz`).
//!
//! Each notable event is counted where it is logged, through one method of [`Metrics`] per
//! event, so a log line and its counter never drift apart.

pub mod metrics;
pub mod readiness;
pub mod server;

pub use metrics::Metrics;
pub use readiness::Readiness;

//! The worker's metrics, through the `metrics` facade and its Prometheus exporter (text format
//! 0.0.4, which `promtool check metrics` reads). One recorder per worker, not a global one, so
//! several workers in one process (tests, `caravan run`) keep their own counts. Names follow
//! Prometheus conventions (`caravan_` prefix, `_total` counters, `_seconds`, `_bytes`); labels
//! are bounded (job kind, failure code, stage, dead-letter reason — never an asset id or name).

use std::time::Duration;

use caravan_proto::{FailureCode, JobKind};
use metrics::{Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Where a job's time goes.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    /// The master fetched from the store into scratch.
    Fetch,
    /// The pipeline child, start to finish.
    Pipeline,
    /// Content credentials embedded (signing workers).
    Credentials,
    /// Every output uploaded.
    Upload,
    /// Receipt (and signature, log request) stored.
    Commit,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::Pipeline => "pipeline",
            Stage::Credentials => "credentials",
            Stage::Upload => "upload",
            Stage::Commit => "commit",
        }
    }
}

/// Every metric: (name, unit, help).
const DESCRIBED: &[(&str, Option<Unit>, &str)] = &[
    (
        "caravan_jobs_started_total",
        None,
        "Jobs whose work started, by kind",
    ),
    (
        "caravan_jobs_succeeded_total",
        None,
        "Jobs committed (receipt stored), by kind",
    ),
    (
        "caravan_jobs_skipped_total",
        None,
        "Deliveries acknowledged without work because the receipt existed, by kind",
    ),
    (
        "caravan_jobs_failed_total",
        None,
        "Jobs failed permanently, by kind and failure code",
    ),
    (
        "caravan_job_retries_total",
        None,
        "Transient failures published again for a retry, by kind and failure code",
    ),
    (
        "caravan_dead_letters_total",
        None,
        "Dead-lettered jobs this worker's recorder saw, by the broker's reason",
    ),
    (
        "caravan_job_duration_seconds",
        Some(Unit::Seconds),
        "Wall time of a job's work, from its start to its commit or failure, by kind",
    ),
    (
        "caravan_stage_duration_seconds",
        Some(Unit::Seconds),
        "Wall time of one stage of a job, by kind and stage",
    ),
    (
        "caravan_upload_duration_seconds",
        Some(Unit::Seconds),
        "Wall time of one output's upload",
    ),
    (
        "caravan_read_bytes_total",
        Some(Unit::Bytes),
        "Master bytes fetched from the store",
    ),
    (
        "caravan_written_bytes_total",
        Some(Unit::Bytes),
        "Output bytes stored",
    ),
    ("caravan_jobs_in_flight", None, "Jobs being worked on now"),
    ("caravan_slots", None, "Jobs this worker runs at once"),
    (
        "caravan_broker_reconnects_total",
        None,
        "Times the job stream was lost and consumed again",
    ),
    (
        "caravan_lease_takeovers_total",
        None,
        "Leases taken over from a worker that went silent",
    ),
    (
        "caravan_scratch_bytes",
        Some(Unit::Bytes),
        "Bytes of masters and outputs in this worker's scratch space",
    ),
    (
        "caravan_log_entries_appended_total",
        None,
        "Receipts this worker's sequencer appended to the transparency log",
    ),
    (
        "caravan_tree_heads_published_total",
        None,
        "Signed tree heads this worker's sequencer published",
    ),
    (
        "caravan_ready",
        None,
        "1 while the worker is ready: store and broker reachable, not draining",
    ),
];

/// Histogram buckets, in seconds: 10 ms … ~45 min, a thumbnail to a long master.
fn buckets() -> Vec<f64> {
    (0..19).map(|i| 0.01 * 2f64.powi(i)).collect()
}

/// Every metric of one worker.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets())
            .expect("the buckets are not empty")
            .build_recorder();
        for (name, unit, help) in DESCRIBED {
            let name = metrics::KeyName::from_const_str(name);
            if name.as_str().ends_with("_seconds") {
                recorder.describe_histogram(name, *unit, (*help).into());
            } else if name.as_str().ends_with("_total") {
                recorder.describe_counter(name, *unit, (*help).into());
            } else {
                recorder.describe_gauge(name, *unit, (*help).into());
            }
        }
        let handle = recorder.handle();
        let metrics = Self { recorder, handle };
        // Present from the first scrape, before any job: the counters operators alert on.
        for kind in JobKind::ALL {
            metrics
                .counter("caravan_jobs_started_total", kind_labels(kind))
                .increment(0);
            metrics
                .counter("caravan_jobs_succeeded_total", kind_labels(kind))
                .increment(0);
        }
        metrics.gauge("caravan_jobs_in_flight", vec![]).set(0.0);
        metrics.gauge("caravan_scratch_bytes", vec![]).set(0.0);
        metrics
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        self.handle.render()
    }

    fn counter(&self, name: &'static str, labels: Vec<Label>) -> metrics::Counter {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> metrics::Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    fn histogram(&self, name: &'static str, labels: Vec<Label>) -> metrics::Histogram {
        self.recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }

    pub fn job_started(&self, kind: JobKind) {
        self.counter("caravan_jobs_started_total", kind_labels(kind))
            .increment(1);
        self.gauge("caravan_jobs_in_flight", vec![]).increment(1.0);
    }

    /// The job's work ended (committed, failed or handed back).
    pub fn job_ended(&self, kind: JobKind, took: Duration) {
        self.gauge("caravan_jobs_in_flight", vec![]).decrement(1.0);
        self.histogram("caravan_job_duration_seconds", kind_labels(kind))
            .record(took.as_secs_f64());
    }

    pub fn job_succeeded(&self, kind: JobKind) {
        self.counter("caravan_jobs_succeeded_total", kind_labels(kind))
            .increment(1);
    }

    pub fn job_skipped(&self, kind: JobKind) {
        self.counter("caravan_jobs_skipped_total", kind_labels(kind))
            .increment(1);
    }

    pub fn job_failed(&self, kind: JobKind, code: FailureCode) {
        self.counter("caravan_jobs_failed_total", kind_code(kind, code))
            .increment(1);
    }

    pub fn job_retried(&self, kind: JobKind, code: FailureCode) {
        self.counter("caravan_job_retries_total", kind_code(kind, code))
            .increment(1);
    }

    pub fn dead_lettered(&self, reason: &str) {
        // The broker's reasons are a fixed set; anything else is folded into `other`.
        let reason = match reason {
            "rejected" | "delivery_limit" | "expired" | "maxlen" => reason.to_owned(),
            _ => "other".to_owned(),
        };
        self.counter(
            "caravan_dead_letters_total",
            vec![Label::new("reason", reason)],
        )
        .increment(1);
    }

    pub fn stage(&self, kind: JobKind, stage: Stage, took: Duration) {
        let labels = vec![
            Label::new("kind", kind.as_str()),
            Label::new("stage", stage.as_str()),
        ];
        self.histogram("caravan_stage_duration_seconds", labels)
            .record(took.as_secs_f64());
    }

    pub fn uploaded(&self, bytes: u64, took: Duration) {
        self.counter("caravan_written_bytes_total", vec![])
            .increment(bytes);
        self.histogram("caravan_upload_duration_seconds", vec![])
            .record(took.as_secs_f64());
    }

    pub fn fetched(&self, bytes: u64) {
        self.counter("caravan_read_bytes_total", vec![])
            .increment(bytes);
    }

    pub fn set_slots(&self, slots: usize) {
        self.gauge("caravan_slots", vec![]).set(slots as f64);
    }

    pub fn reconnected(&self) {
        self.counter("caravan_broker_reconnects_total", vec![])
            .increment(1);
    }

    pub fn lease_taken_over(&self) {
        self.counter("caravan_lease_takeovers_total", vec![])
            .increment(1);
    }

    /// Scratch space grew (`bytes` > 0) or was freed (< 0).
    pub fn scratch(&self, bytes: i64) {
        self.gauge("caravan_scratch_bytes", vec![])
            .increment(bytes as f64);
    }

    pub fn log_entry_appended(&self) {
        self.counter("caravan_log_entries_appended_total", vec![])
            .increment(1);
    }

    pub fn tree_head_published(&self) {
        self.counter("caravan_tree_heads_published_total", vec![])
            .increment(1);
    }

    pub fn set_ready(&self, ready: bool) {
        self.gauge("caravan_ready", vec![])
            .set(if ready { 1.0 } else { 0.0 });
    }
}

fn kind_labels(kind: JobKind) -> Vec<Label> {
    vec![Label::new("kind", kind.as_str())]
}

fn kind_code(kind: JobKind, code: FailureCode) -> Vec<Label> {
    vec![
        Label::new("kind", kind.as_str()),
        Label::new("code", code.as_str()),
    ]
}

#[cfg(test)]
mod tests;

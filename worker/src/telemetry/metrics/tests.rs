use std::time::Duration;

use caravan_proto::{FailureCode, JobKind};

use super::{Metrics, Stage};

#[test]
fn events_are_counted_under_conventional_names_and_promtool_accepts_the_exposition() {
    let m = Metrics::new();
    m.set_slots(2);
    m.job_started(JobKind::Image);
    m.fetched(1000);
    m.stage(JobKind::Image, Stage::Pipeline, Duration::from_millis(250));
    m.uploaded(4096, Duration::from_millis(20));
    m.job_succeeded(JobKind::Image);
    m.job_ended(JobKind::Image, Duration::from_millis(300));
    m.job_started(JobKind::Video);
    m.job_failed(JobKind::Video, FailureCode::UndecodableInput);
    m.job_ended(JobKind::Video, Duration::from_secs(2));
    m.job_retried(JobKind::Image, FailureCode::StoreUnavailable);
    m.dead_lettered("delivery_limit");
    m.dead_lettered("something a broker made up");
    let text = m.encode();
    for line in [
        "caravan_jobs_started_total{kind=\"image\"} 1",
        "caravan_jobs_succeeded_total{kind=\"video\"} 0",
        "caravan_jobs_succeeded_total{kind=\"image\"} 1",
        "caravan_jobs_failed_total{kind=\"video\",code=\"undecodable_input\"} 1",
        "caravan_job_retries_total{kind=\"image\",code=\"store_unavailable\"} 1",
        "caravan_dead_letters_total{reason=\"delivery_limit\"} 1",
        "caravan_dead_letters_total{reason=\"other\"} 1",
        "caravan_read_bytes_total 1000",
        "caravan_written_bytes_total 4096",
        "caravan_jobs_in_flight 0",
        "caravan_slots 2",
        "caravan_job_duration_seconds_count{kind=\"video\"} 1",
        "caravan_stage_duration_seconds_count{kind=\"image\",stage=\"pipeline\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }

    // Prometheus's own linter, on the exposition as served.
    caravan_testkit::tools::promtool_check_metrics(&text);
}

use std::time::{Duration, SystemTime};

use super::*;

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + seconds)
}

#[test]
fn rate_counts_only_the_last_ten_minutes() {
    // Submitted an hour ago; 30 finished in the last 10 minutes, 100 more before them.
    let now = at(3600);
    let mut finished: Vec<_> = (0..100).map(|i| at(i * 10)).collect();
    finished.extend((0..30).map(|i| at(3000 + i * 20)));
    let p = estimate(now, at(0), &finished, 45);
    assert_eq!(p.window_seconds, 600);
    assert_eq!(p.finished_in_window, 30);
    assert!((p.per_minute - 3.0).abs() < 1e-9, "{}", p.per_minute);
    // 45 pending at 3 a minute: 15 minutes.
    assert_eq!(p.eta_seconds, Some(900));
}

#[test]
fn a_young_batch_is_measured_since_it_was_submitted() {
    // Submitted two minutes ago, 8 finished: 4 a minute, 20 pending take 5 minutes.
    let now = at(120);
    let finished: Vec<_> = (0..8).map(|i| at(10 + i * 10)).collect();
    let p = estimate(now, at(0), &finished, 20);
    assert_eq!(p.window_seconds, 120);
    assert!((p.per_minute - 4.0).abs() < 1e-9);
    assert_eq!(p.eta_seconds, Some(300));
}

#[test]
fn nothing_finished_recently_gives_no_eta() {
    let now = at(7200);
    let p = estimate(now, at(0), &[at(5), at(6)], 10);
    assert_eq!(p.finished_in_window, 0);
    assert_eq!(p.per_minute, 0.0);
    assert_eq!(p.eta_seconds, None);
}

#[test]
fn assets_finished_before_the_index_was_written_count_from_the_first() {
    // The index was written at 60 s, after publishing; 6 assets finished from 30 s on.
    let now = at(90);
    let finished: Vec<_> = (0..6).map(|i| at(30 + i * 10)).collect();
    let p = estimate(now, at(60), &finished, 12);
    assert_eq!(p.window_seconds, 60);
    assert_eq!(p.finished_in_window, 6);
    assert!((p.per_minute - 6.0).abs() < 1e-9);
    assert_eq!(p.eta_seconds, Some(120));
}

use std::time::Duration;

use super::backoff;

#[test]
fn retry_delays_grow_and_are_capped() {
    let base = Duration::from_secs(1);
    let d1 = backoff(base, 1);
    let d3 = backoff(base, 3);
    assert!(d1 >= Duration::from_secs(1) && d1 <= Duration::from_millis(1250));
    assert!(d3 >= Duration::from_secs(4));
    assert!(backoff(base, 30) <= Duration::from_secs(375));
}

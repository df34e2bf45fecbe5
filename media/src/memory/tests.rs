use super::{resident_bytes, status_bytes};

#[test]
fn the_resident_memory_grows_with_what_the_process_touches() {
    let before = resident_bytes().expect("Linux reports VmRSS");
    // 64 MiB written page by page: resident, not only reserved.
    let block = vec![1u8; 64 << 20];
    let after = resident_bytes().unwrap();
    assert!(after >= before + (48 << 20), "{before} → {after}");
    assert!(status_bytes(None, "VmSize").unwrap() >= after);
    assert_eq!(block.iter().map(|&b| u64::from(b)).sum::<u64>(), 64 << 20);
    assert_eq!(
        status_bytes(Some(u32::MAX), "VmRSS"),
        None,
        "no such process"
    );
}

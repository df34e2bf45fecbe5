//! The shared corpus of real third-party media (`../shared/corpus`, or `CARAVAN_CORPUS`).
//!
//! CI always has it, and sets `CARAVAN_REQUIRE_CORPUS=1`: there a missing corpus fails the test
//! that needs it. Elsewhere (a clone on a laptop) the test says it skipped, on stderr and in the
//! skip log (`CARAVAN_SKIP_LOG`, default `target/skipped-tests.log`) that `scripts/test.sh`
//! counts, so a skipped test is reported as skipped, not as passed.

use std::io::Write;
use std::path::PathBuf;

/// The corpus folder `sub` (`images`, `video`, `hostile`), or `None` after recording that
/// `test` skipped (outside CI). Panics in CI when it is missing.
pub fn dir(test: &str, sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("CARAVAN_CORPUS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus")),
        PathBuf::from,
    );
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    let reason = format!("the corpus folder {} is absent", dir.display());
    if std::env::var_os("CARAVAN_REQUIRE_CORPUS").is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{reason}; CI always has ../shared/corpus (CARAVAN_REQUIRE_CORPUS is set)");
    }
    skipped(test, &reason);
    None
}

/// Records that `test` skipped (all or part of its checks) because of `reason`.
pub fn skipped(test: &str, reason: &str) {
    eprintln!("SKIPPED {test}: {reason}");
    let log = std::env::var_os("CARAVAN_SKIP_LOG").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/skipped-tests.log"
            ))
        },
        PathBuf::from,
    );
    if let Some(parent) = log.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
    {
        let _ = writeln!(file, "{test}\t{reason}");
    }
}

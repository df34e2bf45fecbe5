//! Signing keys for tests, and the third-party verifiers signed outputs are checked with:
//! c2pa-python (`tests/verifiers/c2pa_read.py`) and `openssl pkeyutl -verify`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::binary::{caravan, output_within, repo};

/// A fresh key folder from `caravan keys generate`.
pub fn generate_keys(dir: &Path) -> PathBuf {
    let keys = dir.join("keys");
    let mut command = caravan();
    command.args(["keys", "generate"]).arg(&keys);
    let out = output_within(command, std::time::Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    keys
}

/// What c2pa-python reads from each `(media type, file)`: one JSON object per file.
pub fn c2pa_read(files: &[(String, PathBuf)]) -> Vec<Value> {
    let mut command = Command::new(caravan_testkit::tools::venv_python());
    command.arg(repo().join("tests/verifiers/c2pa_read.py"));
    for (media_type, path) in files {
        command.arg(media_type).arg(path);
    }
    let out = output_within(command, std::time::Duration::from_secs(300));
    assert!(
        out.status.success(),
        "c2pa-python (scripts/python-tools.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Whether `openssl pkeyutl -verify` accepts `signature` of `file` by the public key `key`
/// (the command README gives).
pub fn openssl_verifies(key: &Path, file: &Path, signature: &Path) -> bool {
    let out = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(key)
        .args(["-rawin", "-in"])
        .arg(file)
        .arg("-sigfile")
        .arg(signature)
        .output()
        .expect("openssl is installed (scripts/setup.sh --for-tests)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.success(),
        said.contains("Signature Verified Successfully"),
        "{said}"
    );
    out.status.success()
}

/// `caravan verify <path> --json [args]`: its exit status and report.
pub fn verify(path: &Path, args: &[&str]) -> (bool, Value) {
    let mut command = caravan();
    command.arg("verify").arg(path).arg("--json").args(args);
    let out = output_within(command, std::time::Duration::from_secs(300));
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify's report is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

/// Flips one bit of the byte at `at` (from the end, if negative) of `path`.
pub fn flip_byte(path: &Path, at: i64) {
    let mut bytes = std::fs::read(path).unwrap();
    let index = if at < 0 {
        bytes.len() - at.unsigned_abs() as usize
    } else {
        at as usize
    };
    bytes[index] ^= 0x04;
    std::fs::write(path, bytes).unwrap();
}

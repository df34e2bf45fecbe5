//! `caravan pull` from a local HTTP server we control (tests/verifiers/flaky_http.py: range
//! requests, a connection dropped every megabyte, an expired-link mode), each pulled pack checked
//! by the Library of Congress's `bagit.py`. The pack is bagged by `bagit.py` too, as an archive
//! would hand one over.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use caravan_testkit::files::files_below;
use caravan_testkit::tools::{bagit_make, bagit_validate, venv_python};
use serde_json::Value;

use crate::common::*;

/// Payload files of the test pack: (path below `data/`, size).
const PAYLOAD: [(&str, usize); 5] = [
    ("scans/hokusai.tif", 3_000_000),
    ("scans/silk.tif", 2_500_000),
    ("video/loom.ts", 1_500_000),
    ("labels/เส้นไหม.txt", 120),
    ("labels/خيوط الحرير.txt", 90),
];

#[test]
fn a_pack_pulled_through_a_connection_dropped_every_megabyte_completes_and_validates() {
    let pack = make_pack();
    let server = Server::start(pack.path(), &["--drop-every", "1000000"]);
    let dest = tempfile::tempdir().unwrap();
    let (code, summary, stderr) = pull(&server.url(), dest.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["downloaded"], PAYLOAD.len());
    assert!(summary["retries"].as_u64().unwrap() >= 5, "{summary}");
    bagit_validate(dest.path()).unwrap_or_else(|e| panic!("bagit.py refuses the pulled pack: {e}"));
    let pack_bytes: u64 = files_below(pack.path())
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let sent = server.sent(|_| true);
    assert!(
        sent >= payload_bytes() && (sent as f64) <= pack_bytes as f64 * 1.05,
        "the server sent {sent} bytes for a pack of {pack_bytes}"
    );

    // Pulled again into the same folder: no payload file is requested.
    let before = server.requests().len();
    let (code, again, stderr) = pull(&server.url(), dest.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (
            again["downloaded"].as_u64(),
            again["already_there"].as_u64()
        ),
        (Some(0), Some(PAYLOAD.len() as u64))
    );
    let payload_requests: Vec<Value> = server.requests()[before..]
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("data/"))
        .cloned()
        .collect();
    assert!(
        payload_requests.is_empty(),
        "fetched again: {payload_requests:?}"
    );
    bagit_validate(dest.path()).unwrap();
}

#[test]
fn a_pull_killed_halfway_resumes_and_fetches_only_what_was_not_there() {
    let pack = make_pack();
    let server = Server::start(pack.path(), &[]);
    let dest = tempfile::tempdir().unwrap();
    let mut slow = caravan()
        .args(["pull", &server.url()])
        .arg(dest.path())
        .args(["--limit-rate", "1M", "--parallel", "2", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let began = Instant::now();
    // Killed once the server has sent 3 MB and some of it is on disk as a partial file.
    let parts_on_disk = || -> u64 {
        files_below(&dest.path().join(".caravan-pull/parts"))
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum()
    };
    while server.sent(|p| p.starts_with("data/")) < 3_000_000 || parts_on_disk() == 0 {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "the pull made no progress"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    slow.kill().unwrap(); // SIGKILL
    slow.wait().unwrap();

    // What the folder holds after the kill: whole files in place, the rest as parts (or nothing).
    let in_place: Vec<&str> = PAYLOAD
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| dest.path().join("data").join(p).is_file())
        .collect();
    let parts = parts_on_disk();
    assert!(parts > 0, "the kill left no partial file to resume");
    let missing = payload_bytes()
        - PAYLOAD
            .iter()
            .filter(|(p, _)| in_place.contains(p))
            .map(|(_, n)| *n as u64)
            .sum::<u64>()
        - parts;

    let before = server.requests().len();
    let (code, summary, stderr) = pull(&server.url(), dest.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["complete"], true);
    bagit_validate(dest.path()).unwrap();
    let second: Vec<Value> = server.requests()[before..].to_vec();
    for done in &in_place {
        let path = format!("data/{done}");
        assert!(
            !second.iter().any(|r| r["path"] == path.as_str()),
            "{path} was whole before the kill and was fetched again"
        );
    }
    assert!(
        second.iter().any(|r| r["start"].as_u64().unwrap() > 0),
        "no download resumed with a range: {second:?}"
    );
    let sent: u64 = second
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("data/"))
        .map(|r| r["sent"].as_u64().unwrap())
        .sum();
    assert_eq!(
        sent, missing,
        "the second pull fetched only the bytes not yet there"
    );
}

#[test]
fn a_tampered_file_and_an_expired_link_are_reported_in_words_and_exit_codes() {
    let pack = make_pack();
    let changed = pack.path().join("data/scans/silk.tif");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[1_234_567] ^= 0x20;
    std::fs::write(&changed, &bytes).unwrap();
    let server = Server::start(pack.path(), &[]);
    let dest = tempfile::tempdir().unwrap();
    let (code, summary, stderr) = pull(&server.url(), dest.path(), &[]);
    assert_eq!(code, 3, "{summary} {stderr}");
    assert_eq!(summary["complete"], false);
    let rejected = summary["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{summary}");
    assert_eq!(rejected[0]["path"], "data/scans/silk.tif");
    assert!(
        !dest.path().join("data/scans/silk.tif").exists(),
        "a file that does not match is left in place"
    );
    assert_eq!(
        std::fs::read(rejected[0]["kept_at"].as_str().unwrap()).unwrap(),
        bytes
    );
    assert!(stderr.contains("do not match"), "{stderr}");
    assert!(
        bagit_validate(dest.path()).is_err(),
        "an incomplete pull passes as a bag"
    );

    // An expired link as AWS S3 answers it, and as Garage does.
    for server in ["s3", "garage"] {
        let expired = Server::start(pack.path(), &["--expired", server]);
        let (code, summary, stderr) =
            pull(&expired.url(), tempfile::tempdir().unwrap().path(), &[]);
        assert_eq!(code, 4, "{server}: {summary} {stderr}");
        assert!(
            stderr.contains("the link has expired"),
            "{server}: {stderr}"
        );
    }
}

/// The test pack: pseudo-random payload (it must not compress), bagged by `bagit.py`.
pub(crate) fn make_pack() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for (path, size) in PAYLOAD {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        std::fs::write(file, bytes).unwrap();
    }
    bagit_make(dir.path());
    dir
}

fn payload_bytes() -> u64 {
    PAYLOAD.iter().map(|(_, n)| *n as u64).sum()
}

/// `caravan pull <url> <dest> --json`: exit code, summary, stderr.
pub(crate) fn pull(url: &str, dest: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut command = caravan();
    command
        .args(["pull", url])
        .arg(dest)
        .arg("--json")
        .args(extra);
    let output = output_within(command, Duration::from_secs(300));
    let summary = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "summary is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (
        output.status.code().unwrap_or(-1),
        summary,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// tests/verifiers/flaky_http.py serving one folder on a free loopback port.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    _logs: tempfile::TempDir,
}

impl Server {
    fn start(root: &Path, args: &[&str]) -> Self {
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("requests.jsonl");
        let mut child = Command::new(venv_python())
            .arg(repo().join("tests/verifiers/flaky_http.py"))
            .arg(root)
            .arg(&log)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the virtualenv's Python runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("flaky_http.py said {line:?}"));
        Self {
            child,
            port,
            log,
            _logs: logs,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Every request so far, as the server logged it.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Bytes sent for paths `which` accepts.
    fn sent(&self, which: impl Fn(&str) -> bool) -> u64 {
        self.requests()
            .iter()
            .filter(|r| which(r["path"].as_str().unwrap()))
            .map(|r| r["sent"].as_u64().unwrap())
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

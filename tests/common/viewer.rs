//! A pack's offline viewer, as a visitor's browser sees it: the pack's `data/` served by
//! Python's own `http.server` on a free loopback port, Debian's Chromium driven through it by
//! `tests/verifiers/viewer_check.mjs` (playwright-core). Screenshots are kept as CI
//! artefacts under `target/artefacts/viewer/<name>/`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{output_within, probe::free_addr, repo};

/// What `viewer_check.mjs` reports of the pack at `root` (a bag; its `data/` is served).
pub fn view_pack(root: &Path, name: &str) -> Value {
    let server = StaticServer::start(&root.join("data"));
    let shots = artefacts().join(name);
    let mut command = Command::new("node");
    command
        .arg(repo().join("tests/verifiers/viewer_check.mjs"))
        .arg(format!("http://{}/index.html", server.addr))
        .arg("--shots")
        .arg(&shots)
        .current_dir(repo().join("tests/verifiers"));
    let out = output_within(command, Duration::from_secs(180));
    assert!(
        out.status.success(),
        "viewer_check.mjs (node, playwright-core, /usr/bin/chromium; scripts/setup.sh --for-tests): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "viewer_check.mjs said no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Where CI artefacts go: `target/artefacts/` of this checkout.
pub fn artefacts() -> PathBuf {
    repo().join("target/artefacts/viewer")
}

/// `python3 -m http.server` serving one folder on loopback.
struct StaticServer {
    child: Child,
    addr: String,
}

impl StaticServer {
    fn start(root: &Path) -> Self {
        let addr = free_addr();
        let port = addr.rsplit(':').next().unwrap().to_owned();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port,
                "--directory",
            ])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "http.server never listened on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

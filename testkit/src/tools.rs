//! Reference tools this project did not write, run as a user would run them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `tool` (from the Debian package `package`) with `args`; fails the test with its error
/// output unless it succeeds.
pub fn run(tool: &str, package: &str, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (Debian {package}, scripts/setup.sh --for-tests): {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs libtiff's `tiffcp`, `tiffset` … with `args`.
pub fn libtiff(tool: &str, args: &[&str]) {
    run(tool, "libtiff-tools", args);
}

/// Runs Little CMS's `jpgicc` or `tificc` with `args`.
pub fn lcms(tool: &str, args: &[&str]) {
    run(tool, "liblcms2-utils", args);
}

/// What exiftool reads from `path` (the XMP and QuickTime tags, by name).
pub fn exiftool(path: &Path) -> serde_json::Value {
    let out = Command::new("exiftool")
        .args([
            "-json",
            "-charset",
            "utf8",
            "-XMP-dc:all",
            "-XMP-xmpRights:all",
            "-XMP-iptcExt:DigitalSourceType",
            "-QuickTime:Title",
            "-QuickTime:Artist",
            "-QuickTime:Copyright",
        ])
        .arg(path)
        .output()
        .expect("exiftool is installed (libimage-exiftool-perl, scripts/setup.sh --for-tests)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

/// Sets the EXIF `Orientation` tag of the JPEG at `path` to `n` (1–8) with exiftool, adding an
/// EXIF segment if it has none.
pub fn set_exif_orientation(path: &Path, n: u16) {
    run(
        "exiftool",
        "libimage-exiftool-perl",
        &[
            "-q",
            "-n",
            &format!("-Orientation={n}"),
            "-overwrite_original",
            path.to_str().expect("test paths are UTF-8"),
        ],
    );
}

/// The Python of Caravan's one virtualenv (`scripts/python-tools.sh`: pinned verifiers and
/// references, `scripts/python-requirements.txt`): `$CARAVAN_VENV`, or `~/.cache/caravan/venv`.
pub fn venv_python() -> std::path::PathBuf {
    let venv = std::env::var_os("CARAVAN_VENV").map_or_else(
        || {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/caravan/venv")
        },
        std::path::PathBuf::from,
    );
    venv.join("bin/python")
}

/// `bagit.py --validate` (PyPI `bagit`, the Library of Congress's, in the virtualenv) on the bag
/// at `root`: `Err` with what it said when it refuses the bag.
pub fn bagit_validate(root: &std::path::Path) -> Result<(), String> {
    let output = Command::new(venv_python())
        .args(["-m", "bagit", "--validate"])
        .arg(root)
        .output()
        .expect("the virtualenv's Python runs");
    match output.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}

/// Makes the folder `dir` a bag in place with `bagit.py` (payload moved under `data/`, SHA-256
/// manifests), as an archive would make one.
pub fn bagit_make(dir: &std::path::Path) {
    let python = venv_python();
    run(
        python.to_str().expect("the virtualenv's path is UTF-8"),
        "python3-venv; bagit from scripts/python-tools.sh",
        &[
            "-m",
            "bagit",
            "--sha256",
            "--source-organization",
            "Caravan tests",
            dir.to_str().expect("test paths are UTF-8"),
        ],
    );
}

/// Fails the test unless `promtool check metrics` (Debian `prometheus`: the Prometheus
/// project's own linter for the text exposition format) accepts `text`.
pub fn promtool_check_metrics(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian prometheus, scripts/setup.sh --for-tests)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

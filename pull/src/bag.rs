//! Reading a bag's tag files (RFC 8493) as they come from a source we do not trust: manifest
//! paths are decoded and must stay inside `data/`.

use std::path::{Component, Path, PathBuf};

use crate::PullError;

/// The tag files, in the order they are fetched; `bagit.txt` is written last locally, so a
/// folder with a `bagit.txt` holds a complete pull.
pub const TAGMANIFEST: &str = "tagmanifest-sha256.txt";
pub const BAGIT: &str = "bagit.txt";
pub const MANIFEST: &str = "manifest-sha256.txt";
pub const BAG_INFO: &str = "bag-info.txt";

/// One line of a SHA-256 manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// As in the manifest after decoding: `/`-separated, relative to the bag's root.
    pub path: String,
    pub sha256: String,
}

impl Entry {
    /// Where the file goes below `root`.
    pub fn local(&self, root: &Path) -> PathBuf {
        root.join(self.path.split('/').collect::<PathBuf>())
    }
}

/// Parses a `manifest-sha256.txt` or `tagmanifest-sha256.txt`; `payload` requires every path to
/// be below `data/`. Absolute paths, `..`, empty segments and duplicate paths are refused.
pub fn parse_manifest(text: &str, name: &str, payload: bool) -> Result<Vec<Entry>, PullError> {
    let mut entries: Vec<Entry> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| PullError::NotABag(format!("{name} line {}: {why}", n + 1));
        if line.trim().is_empty() {
            continue;
        }
        let (sha256, path) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad("expected `<sha256>  <path>`"))?;
        let sha256 = sha256.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("not a SHA-256 checksum"));
        }
        let path = decode(path.trim_start());
        check_path(&path, payload).map_err(|why| bad(&why))?;
        if entries.iter().any(|e| e.path == path) {
            return Err(bad("a path listed twice"));
        }
        entries.push(Entry { path, sha256 });
    }
    Ok(entries)
}

/// `Payload-Oxum` of a `bag-info.txt`: the payload's bytes and file count.
pub fn payload_oxum(bag_info: &str) -> Option<(u64, u64)> {
    let value = bag_info
        .lines()
        .find_map(|l| l.strip_prefix("Payload-Oxum:"))?
        .trim();
    let (bytes, count) = value.split_once('.')?;
    Some((bytes.parse().ok()?, count.parse().ok()?))
}

/// Checks `bagit.txt` names a BagIt version.
pub fn check_declaration(text: &str) -> Result<(), PullError> {
    if text
        .trim_start_matches('\u{feff}')
        .starts_with("BagIt-Version:")
    {
        Ok(())
    } else {
        Err(PullError::NotABag(
            "bagit.txt does not start with `BagIt-Version:`".into(),
        ))
    }
}

/// RFC 8493 §2.1.3: `%0A`, `%0D` and `%25` stand for LF, CR and `%`.
fn decode(path: &str) -> String {
    path.replace("%0A", "\n")
        .replace("%0a", "\n")
        .replace("%0D", "\r")
        .replace("%0d", "\r")
        .replace("%25", "%")
}

fn check_path(path: &str, payload: bool) -> Result<(), String> {
    if path.contains('\\') || path.contains('\0') || path.contains(['\n', '\r']) {
        return Err(format!("{path:?}: a character no pack path holds"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!("{path:?}: empty, `.` or `..` segments"));
    }
    let relative = Path::new(path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(format!("{path:?}: not a relative path"));
    }
    if payload && !path.starts_with("data/") {
        return Err(format!("{path:?}: payload outside data/"));
    }
    if !payload && path.contains('/') {
        return Err(format!("{path:?}: a tag file below the bag's root"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::bag::*;
    use crate::PullError;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    #[test]
    fn manifest_paths_are_decoded_and_kept_inside_data() {
        let entries = parse_manifest(&format!("{A}  data/ไหม/50%25 off.txt\n"), "m", true).unwrap();
        assert_eq!(entries[0].path, "data/ไหม/50% off.txt");
        assert_eq!(
            entries[0].local(Path::new("/kiosk")),
            Path::new("/kiosk/data/ไหม/50% off.txt")
        );
        for hostile in [
            "data/../../etc/passwd",
            "/etc/passwd",
            "data//x",
            "bag-info.txt",
            "data/./x",
            "data\\..\\x",
        ] {
            let err = parse_manifest(&format!("{A}  {hostile}\n"), "m", true).unwrap_err();
            assert!(matches!(err, PullError::NotABag(_)), "{hostile}: {err}");
        }
        assert!(parse_manifest("nothex  data/x\n", "m", true).is_err());
        assert!(parse_manifest(&format!("{A}  data/x\n{A}  data/x\n"), "m", true).is_err());
        assert!(parse_manifest(&format!("{A}  data/x\n"), "t", false).is_err());
    }

    #[test]
    fn payload_oxum_reads_bytes_and_count() {
        assert_eq!(
            payload_oxum("Source-Organization: x\nPayload-Oxum: 1234.5\n"),
            Some((1234, 5))
        );
        assert_eq!(payload_oxum("Payload-Oxum: many\n"), None);
    }
}

//! BagIt 1.0 (RFC 8493): the tag files of a bag whose payload is already under `data/`.
//! Written here rather than with a crate: the format is four text files, and the one Rust
//! crate for it is not maintained; the tests check every bag with the Library of Congress's
//! `bagit.py`.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What `bag-info.txt` says of the bag.
#[derive(Debug, Clone)]
pub struct BagInfo {
    pub source_organization: String,
    pub external_identifier: String,
    pub bagging_date: String,
    pub software_agent: String,
}

/// Writes `bagit.txt`, `manifest-sha256.txt`, `bag-info.txt` (with `Payload-Oxum`) and
/// `tagmanifest-sha256.txt` into `root` for every file below `root/data`. Returns the payload's
/// file count and bytes.
pub fn write(root: &Path, info: &BagInfo) -> std::io::Result<(u64, u64)> {
    let files = files_below(&root.join("data"))?;
    let (mut count, mut octets) = (0u64, 0u64);
    let mut manifest = String::new();
    for file in &files {
        let (sha256, size) = hash_file(file)?;
        let relative = file.strip_prefix(root).expect("below the root");
        manifest.push_str(&format!("{sha256}  {}\n", encode_path(relative)));
        count += 1;
        octets += size;
    }
    std::fs::write(
        root.join("bagit.txt"),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    )?;
    std::fs::write(root.join("manifest-sha256.txt"), manifest)?;
    let info_text = format!(
        "Source-Organization: {}\nExternal-Identifier: {}\nBagging-Date: {}\nBag-Software-Agent: {}\nPayload-Oxum: {octets}.{count}\n",
        one_line(&info.source_organization),
        one_line(&info.external_identifier),
        info.bagging_date,
        one_line(&info.software_agent),
    );
    std::fs::write(root.join("bag-info.txt"), info_text)?;
    let mut tags = std::fs::File::create(root.join("tagmanifest-sha256.txt"))?;
    for tag in ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"] {
        let (sha256, _) = hash_file(&root.join(tag))?;
        writeln!(tags, "{sha256}  {tag}")?;
    }
    Ok((count, octets))
}

/// Every file below `dir`, in path order.
pub(crate) fn files_below(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), out)?;
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    Ok(files)
}

/// The file's SHA-256 (hex) and size.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// A manifest path: `/`-separated, with `%`, CR and LF percent-encoded (RFC 8493 §2.1.3).
fn encode_path(path: &Path) -> String {
    let text = (path.components())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A tag value on one line.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests;

//! `caravan-pull`: an exhibition site fetches its pack. `caravan pull <source> <dir>` reads the
//! pack's tag files ([`bag`]) from a folder or an HTTP(S) address ([`source`]), checks them
//! against the tag manifest, then downloads every payload file in parallel ([`fetch`]) under
//! one shared `--limit-rate` ([`rate`]), retrying with [`backoff`] and counting what moved
//! ([`traffic`]), and writes the tag files last.
//!
//! # Invariants
//! - A file is in place under `<dir>/data/` only once its SHA-256 matches the manifest; one that
//!   does not is moved to `<dir>/.caravan-pull/rejected/` and reported, never left in place.
//! - Partial downloads live in `<dir>/.caravan-pull/parts/<sha256 of the path>` (one per file,
//!   whatever its content) and resume from their length
//!   (HTTP range requests); files already in place and matching are never fetched again.
//! - `<dir>/bagit.txt` is written last, and only when every payload file matched: a folder with
//!   it is a complete, valid bag; payload files the manifest no longer lists are then removed.
//! - Nothing is written outside `<dir>`: manifest paths are checked before any file is opened.

mod backoff;
pub mod bag;
mod error;
mod fetch;
mod options;
mod progress;
mod rate;
pub mod source;
mod traffic;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;

use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use error::PullError;
pub use fetch::Rejected;
pub use options::PullOptions;
pub use progress::{Progress, Quiet};
pub use source::Source;

use backoff::Backoff;
use bag::{Entry, BAGIT, BAG_INFO, MANIFEST, TAGMANIFEST};
use fetch::{Fetch, Outcome, State};
use traffic::Traffic;

/// What a pull did, for people and for kiosk scripts (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub source: String,
    pub dir: PathBuf,
    /// Payload files in the pack.
    pub files: usize,
    /// Payload files fetched by this run.
    pub downloaded: usize,
    /// Payload files already in place and matching: not fetched.
    pub already_there: usize,
    /// Payload files of an earlier pack that this one no longer lists, removed.
    pub removed: usize,
    /// The payload's size in bytes.
    pub payload_bytes: u64,
    /// Bytes this run read from the source, tag files included.
    pub bytes_transferred: u64,
    /// Interrupted downloads resumed.
    pub retries: u64,
    pub rejected: Vec<Rejected>,
    /// Every file in place and matching; the folder is a valid bag.
    pub complete: bool,
}

/// Pulls the pack at `source` into `dir`.
pub async fn pull(
    source: &Source,
    dir: &Path,
    options: &PullOptions,
    progress: &dyn Progress,
) -> Result<Summary, PullError> {
    let traffic = Traffic::default();
    let tags = read_tags(source, options, &traffic).await?;
    let payload = bag::parse_manifest(&tags.manifest, MANIFEST, true)?;
    let oxum = bag::payload_oxum(&tags.bag_info);
    progress.planned(payload.len(), oxum.map(|(bytes, _)| bytes));

    let state = State {
        parts: dir.join(".caravan-pull").join("parts"),
        rejected: dir.join(".caravan-pull").join("rejected"),
    };
    for folder in [dir, state.parts.as_path()] {
        tokio::fs::create_dir_all(folder)
            .await
            .map_err(PullError::local(folder))?;
    }
    // Until every file is checked again the folder is not a complete bag.
    match tokio::fs::remove_file(dir.join(BAGIT)).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(PullError::local(&dir.join(BAGIT))(e))
        }
        _ => {}
    }
    let fetch = Fetch {
        source,
        root: dir,
        state: &state,
        limiter: &rate::Limiter::new(options.limit_rate),
        options,
        progress,
    };
    let mut outcomes = futures::stream::iter(&payload)
        .map(|entry| fetch.file(entry, &traffic))
        .buffer_unordered(options.parallel.max(1));
    let (mut downloaded, mut already_there, mut rejected) = (0, 0, Vec::new());
    let mut first_error = None;
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok(Outcome::Downloaded) => downloaded += 1,
            Ok(Outcome::AlreadyThere) => already_there += 1,
            Ok(Outcome::Rejected(r)) => rejected.push(r),
            // The other downloads finish (their bytes are kept) before the error is reported.
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    drop(outcomes);
    if let Some(e) = first_error {
        return Err(e);
    }
    rejected.sort_by(|a, b| a.path.cmp(&b.path));

    let mut payload_bytes = 0;
    for entry in &payload {
        if let Ok(m) = tokio::fs::metadata(entry.local(dir)).await {
            payload_bytes += m.len();
        }
    }
    let complete = rejected.is_empty();
    let mut removed = 0;
    if complete {
        removed = remove_unlisted(dir, &payload).await?;
        write_tags(dir, &tags).await?;
        let _ = tokio::fs::remove_dir_all(&state.parts).await;
        let _ = tokio::fs::remove_dir(dir.join(".caravan-pull")).await;
    }
    Ok(Summary {
        source: source.describe(),
        dir: dir.to_owned(),
        files: payload.len(),
        downloaded,
        already_there,
        removed,
        payload_bytes,
        bytes_transferred: traffic.bytes.load(Relaxed),
        retries: traffic.retries.load(Relaxed),
        rejected,
        complete,
    })
}

/// The four tag files, checked against the tag manifest.
struct Tags {
    bagit: Vec<u8>,
    tagmanifest: Vec<u8>,
    /// UTF-8, as RFC 8493 requires of both; written back byte for byte.
    bag_info: String,
    manifest: String,
}

async fn read_tags(
    source: &Source,
    options: &PullOptions,
    traffic: &Traffic,
) -> Result<Tags, PullError> {
    let bagit = read_small(source, BAGIT, options, traffic).await?;
    bag::check_declaration(&String::from_utf8_lossy(&bagit))?;
    let tagmanifest = read_small(source, TAGMANIFEST, options, traffic).await?;
    let listed = bag::parse_manifest(&String::from_utf8_lossy(&tagmanifest), TAGMANIFEST, false)?;
    let bag_info_bytes = read_small(source, BAG_INFO, options, traffic).await?;
    let manifest_bytes = read_small(source, MANIFEST, options, traffic).await?;
    for (name, bytes) in [
        (BAGIT, &bagit),
        (BAG_INFO, &bag_info_bytes),
        (MANIFEST, &manifest_bytes),
    ] {
        let entry = listed
            .iter()
            .find(|e| e.path == name)
            .ok_or_else(|| PullError::NotABag(format!("{TAGMANIFEST} does not list {name}")))?;
        if hex::encode(Sha256::digest(bytes)) != entry.sha256 {
            return Err(PullError::TagMismatch {
                file: name.to_owned(),
            });
        }
    }
    let text = |name: &str, bytes: Vec<u8>| {
        String::from_utf8(bytes).map_err(|_| PullError::NotABag(format!("{name} is not UTF-8")))
    };
    Ok(Tags {
        bag_info: text(BAG_INFO, bag_info_bytes)?,
        manifest: text(MANIFEST, manifest_bytes)?,
        bagit,
        tagmanifest,
    })
}

/// A whole tag file (small), with the same retries as payload files.
async fn read_small(
    source: &Source,
    name: &str,
    options: &PullOptions,
    traffic: &Traffic,
) -> Result<Vec<u8>, PullError> {
    let mut backoff = Backoff::new(options.retries);
    loop {
        let failure = match source.open(name, 0).await {
            Ok(source::Opened::FromOffset(mut reader) | source::Opened::FromStart(mut reader)) => {
                let mut bytes = Vec::new();
                let failure = loop {
                    match reader.chunk().await {
                        Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                        Ok(None) => break None,
                        Err(f) => break Some(f),
                    }
                    if bytes.len() > 64 << 20 {
                        return Err(PullError::NotABag(format!("{name} is over 64 MiB")));
                    }
                };
                traffic.bytes.fetch_add(bytes.len() as u64, Relaxed);
                match failure {
                    None => return Ok(bytes),
                    Some(f) => f,
                }
            }
            Ok(source::Opened::Nothing) => return Ok(Vec::new()),
            Err(f) => f,
        };
        match failure {
            source::Failure::Fatal(e) => return Err(e),
            source::Failure::Retry(detail) => backoff.failed(name, detail, traffic).await?,
        }
    }
}

/// Removes files below `dir/data` the manifest does not list (an earlier pack's).
async fn remove_unlisted(dir: &Path, payload: &[Entry]) -> Result<usize, PullError> {
    let listed: std::collections::HashSet<PathBuf> = payload.iter().map(|e| e.local(dir)).collect();
    let data = dir.join("data");
    let mut removed = 0;
    let mut folders = vec![data];
    while let Some(folder) = folders.pop() {
        let mut entries = match tokio::fs::read_dir(&folder).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(PullError::local(&folder)(e)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(PullError::local(&folder))?
        {
            let path = entry.path();
            let kind = entry.file_type().await.map_err(PullError::local(&path))?;
            if kind.is_dir() {
                folders.push(path);
            } else if !listed.contains(&path) {
                tokio::fs::remove_file(&path)
                    .await
                    .map_err(PullError::local(&path))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// The tag files as the source has them, `bagit.txt` last (each written whole, then renamed).
async fn write_tags(dir: &Path, tags: &Tags) -> Result<(), PullError> {
    for (name, bytes) in [
        (BAG_INFO, tags.bag_info.as_bytes()),
        (MANIFEST, tags.manifest.as_bytes()),
        (TAGMANIFEST, &tags.tagmanifest),
        (BAGIT, &tags.bagit),
    ] {
        let target = dir.join(name);
        let staged = dir.join(format!(".{name}.caravan-pull"));
        tokio::fs::write(&staged, bytes)
            .await
            .map_err(PullError::local(&staged))?;
        tokio::fs::rename(&staged, &target)
            .await
            .map_err(PullError::local(&target))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;

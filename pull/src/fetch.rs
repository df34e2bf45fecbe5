//! One payload file: kept when the copy already there matches the manifest, else downloaded into
//! a part file named by its checksum (resumed from the part's length after a dropped connection,
//! a timeout or a restarted pull), checked, and moved into place; a file that does not match is
//! moved aside, never left in place.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

use crate::backoff::Backoff;
use crate::bag::Entry;
use crate::rate::Limiter;
use crate::source::{Failure, Opened, Source};
use crate::traffic::Traffic;
use crate::{Progress, PullError, PullOptions};

/// A downloaded file whose checksum is not the manifest's.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub path: String,
    pub expected_sha256: String,
    pub actual_sha256: String,
    /// Where the bytes were moved, for whoever investigates.
    pub kept_at: PathBuf,
}

pub(crate) enum Outcome {
    AlreadyThere,
    Downloaded,
    Rejected(Rejected),
}

/// The folders a pull keeps its state in, inside the destination.
pub(crate) struct State {
    pub parts: PathBuf,
    pub rejected: PathBuf,
}

pub(crate) struct Fetch<'a> {
    pub source: &'a Source,
    pub root: &'a Path,
    pub state: &'a State,
    pub limiter: &'a Limiter,
    pub options: &'a PullOptions,
    pub progress: &'a dyn Progress,
}

impl Fetch<'_> {
    pub(crate) async fn file(
        &self,
        entry: &Entry,
        traffic: &Traffic,
    ) -> Result<Outcome, PullError> {
        let target = entry.local(self.root);
        if target.is_file() {
            let (sha256, size) = hash(&target).await?;
            if sha256 == entry.sha256 {
                self.progress.landed(size);
                return Ok(Outcome::AlreadyThere);
            }
        }
        let part = self.state.parts.join(part_name(&entry.path));
        let mut resumed = part_len(&part).await?;
        loop {
            let size = self.download(entry, &part, resumed, traffic).await?;
            let (sha256, _) = hash(&part).await?;
            if sha256 == entry.sha256 {
                create_parent(&target).await?;
                tokio::fs::rename(&part, &target)
                    .await
                    .map_err(PullError::local(&target))?;
                return Ok(Outcome::Downloaded);
            }
            if resumed > 0 {
                // The part may hold the start of an older version of the file: once from zero.
                tracing::warn!(path = %entry.path, "Resumed download does not match; fetching it whole");
                tokio::fs::remove_file(&part)
                    .await
                    .map_err(PullError::local(&part))?;
                resumed = 0;
                continue;
            }
            let kept_at = entry.local(&self.state.rejected);
            create_parent(&kept_at).await?;
            tokio::fs::rename(&part, &kept_at)
                .await
                .map_err(PullError::local(&kept_at))?;
            tracing::error!(path = %entry.path, expected = %entry.sha256, actual = %sha256, size, "A file does not match the pack's manifest; kept aside");
            return Ok(Outcome::Rejected(Rejected {
                path: entry.path.clone(),
                expected_sha256: entry.sha256.clone(),
                actual_sha256: sha256,
                kept_at,
            }));
        }
    }

    /// Appends to `part` from `offset` until the source has no more; retries with backoff.
    /// Returns the part's final length.
    async fn download(
        &self,
        entry: &Entry,
        part: &Path,
        offset: u64,
        traffic: &Traffic,
    ) -> Result<u64, PullError> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut length = offset;
        self.progress.landed(offset);
        let mut backoff = Backoff::new(self.options.retries);
        loop {
            let failure = match self.source.open(&entry.path, length).await {
                Ok(Opened::Nothing) => return Ok(length),
                Ok(opened) => {
                    let (mut reader, from_start) = match opened {
                        Opened::FromOffset(r) => (r, false),
                        Opened::FromStart(r) => (r, true),
                        Opened::Nothing => unreachable!("handled above"),
                    };
                    let mut file = tokio::fs::OpenOptions::new()
                        .create(true)
                        .append(!from_start)
                        .write(true)
                        .truncate(from_start)
                        .open(part)
                        .await
                        .map_err(PullError::local(part))?;
                    if from_start {
                        length = 0;
                    }
                    let failure = loop {
                        match reader.chunk().await {
                            Ok(Some(bytes)) => {
                                self.limiter.take(bytes.len()).await;
                                file.write_all(&bytes)
                                    .await
                                    .map_err(PullError::local(part))?;
                                length += bytes.len() as u64;
                                traffic.bytes.fetch_add(bytes.len() as u64, Relaxed);
                                self.progress.landed(bytes.len() as u64);
                                backoff.progressed();
                            }
                            Ok(None) => break None,
                            Err(failure) => break Some(failure),
                        }
                    };
                    file.flush().await.map_err(PullError::local(part))?;
                    file.sync_data().await.map_err(PullError::local(part))?;
                    match failure {
                        None => return Ok(length),
                        Some(failure) => failure,
                    }
                }
                Err(failure) => failure,
            };
            match failure {
                Failure::Fatal(e) => return Err(e),
                Failure::Retry(detail) => {
                    backoff.failed(&entry.path, detail, traffic).await?;
                }
            }
        }
    }
}

/// The file's SHA-256 (hex) and size, read off the runtime's threads.
pub(crate) async fn hash(path: &Path) -> Result<(String, u64), PullError> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut hasher = Sha256::new();
        let size = std::io::copy(&mut std::fs::File::open(&owned)?, &mut hasher)?;
        Ok((hex::encode(hasher.finalize()), size))
    })
    .await
    .expect("hashing does not panic")
    .map_err(PullError::local(path))
}

/// The partial file of the manifest path `path`: named by the path (hashed), not the
/// content, since a pack may hold several files with the same bytes (a single-tile image's
/// `full/max` and its one tile), downloaded at the same time.
pub(crate) fn part_name(path: &str) -> String {
    hex::encode(Sha256::digest(path.as_bytes()))
}

async fn part_len(part: &Path) -> Result<u64, PullError> {
    match tokio::fs::metadata(part).await {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(PullError::local(part)(e)),
    }
}

pub(crate) async fn create_parent(path: &Path) -> Result<(), PullError> {
    let parent = path.parent().expect("files have parents");
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(PullError::local(parent))
}

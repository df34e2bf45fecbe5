//! A submission's files read: each recognised by its content and hashed (a store prefix's
//! objects fetched for it first).

use std::io::Read;
use std::path::{Path, PathBuf};

use caravan_proto::sniff::{sniff, Sniffed, SNIFF_LEN};
use caravan_proto::{AssetId, FailureCode};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::SchedulerError;

/// What the scan learnt about one file.
#[derive(Debug, Clone)]
pub struct ScannedFile {
    /// Path relative to the submission folder, for people.
    pub source_name: String,
    pub path: PathBuf,
    pub size: u64,
    /// Modification time (Unix seconds) as listed, for resuming.
    pub modified: Option<i64>,
    pub outcome: ScanOutcome,
    /// The object it was read from, for a file of a store prefix (its master is copied from
    /// there on the server; `path` is a local copy, kept only for a subtitle file).
    pub object: Option<String>,
}

#[derive(Debug, Clone)]
pub enum ScanOutcome {
    Media { asset_id: AssetId, sniffed: Sniffed },
    Rejected { code: FailureCode, message: String },
}

/// Hashes this many files at once.
const PARALLEL_HASHES: usize = 4;

/// Every regular file below `root`, grouped by folder, in name order. Hidden files (`.name`)
/// and symbolic links are left out: they are not masters.
pub async fn scan(
    root: &Path,
    mut on_file: impl FnMut(&ScannedFile),
) -> Result<Vec<ScannedFile>, SchedulerError> {
    let root = root.to_owned();
    let listing = tokio::task::spawn_blocking(move || crate::listing::list(&root))
        .await
        .expect("listing does not panic")?;
    let mut results = Vec::with_capacity(listing.len());
    let mut stream = futures::stream::iter(listing)
        .map(|listed| async move {
            let modified = Some(listed.modified);
            let mut file =
                tokio::task::spawn_blocking(move || examine(listed.source_name, listed.path))
                    .await
                    .expect("examining a file does not panic");
            file.modified = modified;
            file
        })
        .buffered(PARALLEL_HASHES);
    while let Some(file) = stream.next().await {
        on_file(&file);
        results.push(file);
    }
    Ok(results)
}

/// Reads one listed file: hashed and recognised where it is, or, for an object of the store,
/// fetched into [`fetch_folder`] first (a subtitle file stays there until the submission
/// uploads it; any other object's copy is removed at once: its master is copied on the
/// server). An object that cannot be fetched is rejected as unreadable.
pub(crate) async fn examine_listed(
    store: &caravan_store::Store,
    listed: crate::listing::Listed,
) -> ScannedFile {
    let crate::listing::Listed {
        source_name,
        path,
        modified,
        object,
        size,
    } = listed;
    let path = match &object {
        None => path,
        Some(key) => {
            let folder = fetch_folder();
            let fetched = folder.join(uuid::Uuid::new_v4().simple().to_string());
            let got = match std::fs::create_dir_all(&folder) {
                Ok(()) => (store.get_to_file(key, &fetched).await)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("{}: {e}", folder.display())),
            };
            if let Err(e) = got {
                let _ = std::fs::remove_file(&fetched);
                return ScannedFile {
                    source_name,
                    path: fetched,
                    size,
                    modified: Some(modified),
                    outcome: ScanOutcome::Rejected {
                        code: FailureCode::Unreadable,
                        message: format!(
                            "cannot fetch the object {key}: {e}; check the store, then submit again"
                        ),
                    },
                    object,
                };
            }
            fetched
        }
    };
    let mut file = tokio::task::spawn_blocking(move || examine(source_name, path))
        .await
        .expect("examining a file does not panic");
    file.modified = Some(modified);
    if object.is_some() {
        let name = file.source_name.rsplit('/').next().unwrap_or_default();
        if caravan_proto::Sidecar::parse_name(name).is_none() {
            let _ = std::fs::remove_file(&file.path);
        }
        file.object = object;
    }
    file
}

/// Where a store prefix's objects are fetched to be examined (removed by the submission).
pub(crate) fn fetch_folder() -> PathBuf {
    std::env::temp_dir().join(format!("caravan-submit-fetched-{}", std::process::id()))
}

pub(crate) fn examine(source_name: String, path: PathBuf) -> ScannedFile {
    let rejected = |size, code, message: String| ScannedFile {
        source_name: source_name.clone(),
        path: path.clone(),
        size,
        modified: None,
        outcome: ScanOutcome::Rejected { code, message },
        object: None,
    };
    let (size, head, sha) = match hash_file(&path) {
        Ok(v) => v,
        Err(e) => {
            return rejected(
                0,
                FailureCode::Unreadable,
                format!("cannot read the file: {e}; check its permissions"),
            )
        }
    };
    if size == 0 {
        return rejected(
            0,
            FailureCode::EmptyFile,
            "the file is empty; submit the real master".into(),
        );
    }
    match sniff(&head) {
        Some(sniffed) => ScannedFile {
            source_name,
            path,
            size,
            modified: None,
            outcome: ScanOutcome::Media {
                asset_id: AssetId::parse(sha).expect("a SHA-256 in hex is a valid asset id"),
                sniffed,
            },
            object: None,
        },
        None => rejected(
            size,
            FailureCode::UnsupportedFormat,
            "the content is not an image or video format Caravan processes (TIFF, JPEG, PNG, WebP, JPEG 2000, Matroska, MP4/MOV, AVI, DV, MXF, MPEG); the file name is not looked at".into(),
        ),
    }
}

/// Size, first [`SNIFF_LEN`] bytes and SHA-256 of a file, read once.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, Vec<u8>, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if head.len() < SNIFF_LEN {
            let take = (SNIFF_LEN - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, head, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests;

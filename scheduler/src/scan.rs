//! Walks a submission folder: each regular file is recognised by its content and hashed.

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
    /// Modification time (Unix seconds) as listed, for resuming; `None` for store objects.
    pub modified: Option<i64>,
    pub outcome: ScanOutcome,
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

/// Every object below `prefix` in the store (masters uploaded straight into the bucket, e.g. by
/// a digitization station): each is streamed to a temporary file, recognised and hashed, and
/// stored as `masters/<sha256>` if the store does not have it yet. One master is on local disk
/// at a time. Hidden objects (a last segment starting with `.`) are left out.
pub async fn scan_store(
    store: &caravan_store::Store,
    prefix: &str,
    mut on_file: impl FnMut(&ScannedFile),
) -> Result<Vec<ScannedFile>, SchedulerError> {
    let objects = store.list(prefix).await?;
    let scratch =
        std::env::temp_dir().join(format!("caravan-submit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).map_err(|source| SchedulerError::Source {
        path: scratch.clone(),
        source,
    })?;
    let keep = sidecar_folder();
    let result = async {
        let mut results = Vec::with_capacity(objects.len());
        for (key, _) in objects {
            let relative = key
                .strip_prefix(prefix)
                .unwrap_or(&key)
                .trim_start_matches('/')
                .to_owned();
            if relative.is_empty()
                || relative == crate::metadata::METADATA_FILE
                || relative
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            let path = scratch.join("master");
            store.get_to_file(&key, &path).await?;
            let examined_path = path.clone();
            let file = tokio::task::spawn_blocking(move || examine(relative, examined_path))
                .await
                .expect("examining a file does not panic");
            if let ScanOutcome::Media { asset_id, sniffed } = &file.outcome {
                let master = caravan_proto::keys::master(asset_id);
                if store.size_of(&master).await? != Some(file.size) {
                    store
                        .put_file(&master, &path, sniffed.media_type, &Default::default())
                        .await?;
                }
            }
            let mut file = file;
            let name = file.source_name.rsplit('/').next().unwrap_or_default();
            if caravan_proto::Sidecar::parse_name(name).is_some() {
                // A subtitle file: kept on disk for the submission to attach to its video's
                // job (it removes it once uploaded).
                let kept = keep.join(results.len().to_string());
                std::fs::create_dir_all(&keep)
                    .and_then(|()| std::fs::rename(&path, &kept))
                    .map_err(|source| SchedulerError::Source {
                        path: kept.clone(),
                        source,
                    })?;
                file.path = kept;
            }
            let _ = std::fs::remove_file(&path);
            on_file(&file);
            results.push(file);
        }
        Ok(results)
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Where a store submission keeps its subtitle files until they are uploaded with their
/// video's job (removed by the submission).
pub(crate) fn sidecar_folder() -> PathBuf {
    std::env::temp_dir().join(format!("caravan-submit-sidecars-{}", std::process::id()))
}

pub(crate) fn examine(source_name: String, path: PathBuf) -> ScannedFile {
    let rejected = |size, code, message: String| ScannedFile {
        source_name: source_name.clone(),
        path: path.clone(),
        size,
        modified: None,
        outcome: ScanOutcome::Rejected { code, message },
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

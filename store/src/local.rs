//! A store in a local directory: the embedded default, and what unit tests use.

use std::path::{Path, PathBuf};

use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::StoreError;
use crate::hashing::HashingCounter;
use crate::key::key_components;
use crate::object::ObjectSummary;

const CHUNK: usize = 1 << 20;

/// Objects are files below `root`, at their key's path.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key`.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        let mut path = self.root.clone();
        for part in key_components(key)? {
            path.push(part);
        }
        Ok(path)
    }

    pub(crate) async fn put_file(
        &self,
        key: &str,
        src: &Path,
    ) -> Result<ObjectSummary, StoreError> {
        let dest = self.path_of(key)?;
        let mut input = fs::File::open(src)
            .await
            .map_err(|e| StoreError::io(src, e))?;
        let (tmp, mut out) = self.create_temp(&dest).await?;
        let result = async {
            let mut hash = HashingCounter::default();
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = input
                    .read(&mut buf)
                    .await
                    .map_err(|e| StoreError::io(src, e))?;
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
                out.write_all(&buf[..n])
                    .await
                    .map_err(|e| StoreError::io(&tmp, e))?;
            }
            out.sync_all().await.map_err(|e| StoreError::io(&tmp, e))?;
            Ok(hash.finish())
        }
        .await;
        self.commit(tmp, &dest, result).await
    }

    pub(crate) async fn put_bytes(
        &self,
        key: &str,
        bytes: &[u8],
    ) -> Result<ObjectSummary, StoreError> {
        let dest = self.path_of(key)?;
        let (tmp, mut out) = self.create_temp(&dest).await?;
        let result = async {
            out.write_all(bytes)
                .await
                .map_err(|e| StoreError::io(&tmp, e))?;
            out.sync_all().await.map_err(|e| StoreError::io(&tmp, e))?;
            let mut hash = HashingCounter::default();
            hash.update(bytes);
            Ok(hash.finish())
        }
        .await;
        self.commit(tmp, &dest, result).await
    }

    pub(crate) async fn put_bytes_if_absent(
        &self,
        key: &str,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        let dest = self.path_of(key)?;
        let (tmp, mut out) = self.create_temp(&dest).await?;
        let written = async {
            out.write_all(bytes)
                .await
                .map_err(|e| StoreError::io(&tmp, e))?;
            out.sync_all().await.map_err(|e| StoreError::io(&tmp, e))
        }
        .await;
        // A hard link fails if the destination exists: an atomic create-if-absent.
        let linked = match written {
            Ok(()) => match fs::hard_link(&tmp, &dest).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(StoreError::io(&dest, e)),
            },
            Err(e) => Err(e),
        };
        let _ = fs::remove_file(&tmp).await;
        linked
    }

    pub(crate) async fn get_to_file(
        &self,
        key: &str,
        dest: &Path,
    ) -> Result<ObjectSummary, StoreError> {
        let src = self.path_of(key)?;
        let mut input = match fs::File::open(&src).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    key: key.to_owned(),
                })
            }
            Err(e) => return Err(StoreError::io(&src, e)),
        };
        let mut out = fs::File::create(dest)
            .await
            .map_err(|e| StoreError::io(dest, e))?;
        let mut hash = HashingCounter::default();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = input
                .read(&mut buf)
                .await
                .map_err(|e| StoreError::io(&src, e))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            out.write_all(&buf[..n])
                .await
                .map_err(|e| StoreError::io(dest, e))?;
        }
        out.flush().await.map_err(|e| StoreError::io(dest, e))?;
        Ok(hash.finish())
    }

    pub(crate) async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(key)?;
        match fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    pub(crate) async fn stat(
        &self,
        key: &str,
    ) -> Result<Option<(u64, std::time::SystemTime)>, StoreError> {
        let path = self.path_of(key)?;
        match fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some((
                m.len(),
                m.modified().unwrap_or(std::time::UNIX_EPOCH),
            ))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    pub(crate) async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, u64, std::time::SystemTime)>, StoreError> {
        // Only the folder the prefix names can hold its keys: walk from there, not the whole
        // store (which holds every derivative and IIIF tile). No valid key has an invalid prefix.
        let start = match prefix.rsplit_once('/') {
            Some((dir, _)) if !dir.is_empty() => match self.path_of(dir) {
                Ok(path) => path,
                Err(_) => return Ok(Vec::new()),
            },
            _ => self.root.clone(),
        };
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let mut stack = vec![start];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(StoreError::io(&dir, e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
                    let path = entry.path();
                    let meta = entry.metadata().map_err(|e| StoreError::io(&path, e))?;
                    if meta.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let Ok(rel) = path.strip_prefix(&root) else {
                        continue;
                    };
                    let key = rel
                        .to_string_lossy()
                        .replace(std::path::MAIN_SEPARATOR, "/");
                    if key.starts_with(&prefix) && !key.ends_with(".partial") {
                        let modified = meta.modified().map_err(|e| StoreError::io(&path, e))?;
                        found.push((key, meta.len(), modified));
                    }
                }
            }
            found.sort();
            Ok(found)
        })
        .await
        .expect("listing does not panic")
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    async fn create_temp(&self, dest: &Path) -> Result<(PathBuf, fs::File), StoreError> {
        let dir = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)
            .await
            .map_err(|e| StoreError::io(dir, e))?;
        let name = dest
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        let tmp = dir.join(format!(
            ".{name}.{}.partial",
            std::process::id() as u64 * 1_000_003 + nonce()
        ));
        let file = fs::File::create(&tmp)
            .await
            .map_err(|e| StoreError::io(&tmp, e))?;
        Ok((tmp, file))
    }

    /// Renames the finished temporary file into place, or removes it if writing failed.
    async fn commit(
        &self,
        tmp: PathBuf,
        dest: &Path,
        result: Result<ObjectSummary, StoreError>,
    ) -> Result<ObjectSummary, StoreError> {
        match result {
            Ok(summary) => {
                fs::rename(&tmp, dest)
                    .await
                    .map_err(|e| StoreError::io(dest, e))?;
                Ok(summary)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }
}

/// Distinguishes temporary files of concurrent writers in one process.
fn nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

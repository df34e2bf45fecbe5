//! `caravan-store`: where masters, derivatives, receipts and batch indexes live.
//!
//! One interface, [`Store`], with two implementations: [`local::LocalStore`] (a directory; the
//! embedded default) and [`s3::S3Store`] (any S3-compatible server).
//!
//! # Invariants
//! - Only this crate knows about S3.
//! - Every write is all-or-nothing for readers: a local write goes to a temporary file that is
//!   renamed into place; an S3 object appears only when its PUT or multipart upload completes.
//!   That is what lets a receipt be the commit point of a job.
//! - Files are streamed, never held whole in memory, and their SHA-256 is computed on the way.
//! - Keys are `/`-separated relative paths; this crate refuses `..`, empty and absolute parts.

mod error;
mod hashing;
mod key;
pub mod local;
mod object;
pub mod s3;
mod secret;

use std::path::Path;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

pub use error::StoreError;
pub use local::LocalStore;
pub use object::ObjectSummary;
pub use s3::{S3Config, S3Store};
pub use secret::Secret;

/// An object store. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    Local(LocalStore),
    S3(S3Store),
}

impl Store {
    /// Streams the file at `path` into `key`. If `cancel` fires, the upload stops and nothing
    /// is left behind (an S3 multipart upload is aborted).
    pub async fn put_file(
        &self,
        key: &str,
        path: &Path,
        media_type: &str,
        cancel: &CancellationToken,
    ) -> Result<ObjectSummary, StoreError> {
        match self {
            Store::Local(s) => tokio::select! {
                r = s.put_file(key, path) => r,
                _ = cancel.cancelled() => Err(StoreError::Cancelled { key: key.to_owned() }),
            },
            Store::S3(s) => s.put_file(key, path, media_type, cancel).await,
        }
    }

    /// Writes a small object (a receipt, an index) from memory.
    pub async fn put_bytes(
        &self,
        key: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<ObjectSummary, StoreError> {
        match self {
            Store::Local(s) => s.put_bytes(key, &bytes).await,
            Store::S3(s) => s.put_bytes(key, bytes, media_type).await,
        }
    }

    /// Writes a small object only if `key` does not exist yet; `Ok(false)` if it did. Used for
    /// receipts, so two workers racing on one asset leave exactly one. On an S3 server that
    /// ignores `If-None-Match` (found out once, by a probe) it looks before writing, which two
    /// writers at the same instant can both pass: the lease keeps that from happening.
    pub async fn put_bytes_if_absent(
        &self,
        key: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Local(s) => s.put_bytes_if_absent(key, &bytes).await,
            Store::S3(s) => s.put_bytes_if_absent(key, bytes, media_type).await,
        }
    }

    /// Writes a small object only if `key` does not exist yet, where the store can make that
    /// atomic: `Some(true)` written, `Some(false)` it existed; `None` when the store cannot
    /// (an S3 server that ignores `If-None-Match`): nothing was written, and the caller must
    /// arbitrate another way. The lease's fast path.
    pub async fn create_exclusive(
        &self,
        key: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<Option<bool>, StoreError> {
        match self {
            Store::Local(s) => s.put_bytes_if_absent(key, &bytes).await.map(Some),
            Store::S3(s) => s.create_exclusive(key, bytes, media_type).await,
        }
    }

    /// Streams `key` into a new file at `path`.
    pub async fn get_to_file(&self, key: &str, path: &Path) -> Result<ObjectSummary, StoreError> {
        match self {
            Store::Local(s) => s.get_to_file(key, path).await,
            Store::S3(s) => s.get_to_file(key, path).await,
        }
    }

    /// Reads a small object into memory; `None` if it does not exist.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Local(s) => s.get_bytes(key).await,
            Store::S3(s) => s.get_bytes(key).await,
        }
    }

    /// The object's size, or `None` if it does not exist.
    pub async fn size_of(&self, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.stat(key).await?.map(|(size, _)| size))
    }

    /// An object's size and last-modified time, or `None` when it does not exist.
    pub async fn stat(&self, key: &str) -> Result<Option<(u64, SystemTime)>, StoreError> {
        match self {
            Store::Local(s) => s.stat(key).await,
            Store::S3(s) => s.stat(key).await,
        }
    }

    /// Every object below `prefix` (a key prefix, e.g. `incoming/2026/`), with its size, in key
    /// order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let listed = self.list_with_times(prefix).await?;
        Ok(listed
            .into_iter()
            .map(|(key, size, _)| (key, size))
            .collect())
    }

    /// [`Self::list`] with each object's last-modified time.
    pub async fn list_with_times(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, u64, SystemTime)>, StoreError> {
        match self {
            Store::Local(s) => s.list(prefix).await,
            Store::S3(s) => s.list(prefix).await,
        }
    }

    /// Copies the object `from` (`size` bytes, as listed) to `to`, which gets `media_type`,
    /// without the bytes passing through this machine where the store allows (S3: a
    /// server-side copy; a folder: a file copy).
    pub async fn copy(
        &self,
        from: &str,
        to: &str,
        size: u64,
        media_type: &str,
    ) -> Result<(), StoreError> {
        match self {
            Store::Local(s) => s.put_file(to, &s.path_of(from)?).await.map(|_| ()),
            Store::S3(s) => s.copy(from, to, size, media_type).await,
        }
    }

    /// Removes an object; removing a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::Local(s) => s.delete(key).await,
            Store::S3(s) => s.delete(key).await,
        }
    }

    /// A short description for logs and summaries, without secrets.
    pub fn describe(&self) -> String {
        match self {
            Store::Local(s) => format!("local directory {}", s.root().display()),
            Store::S3(s) => s.describe(),
        }
    }
}

#[cfg(test)]
mod tests;

//! Scratch space: each worker process works below `<root>/w<pid>`, each job in a folder of its
//! own that is removed when the job ends; on start a worker removes its own folder and those of
//! processes that no longer exist (workers that crashed).

use std::path::{Path, PathBuf};

use caravan_proto::Job;
use tracing::warn;

use crate::error::JobError;

/// A job's scratch directory, removed when dropped.
pub(crate) struct Scratch {
    pub(crate) path: PathBuf,
}

impl Scratch {
    pub(crate) async fn create(root: &Path, job: &Job) -> Result<Self, JobError> {
        let path = root.join(format!("{}-{}", job.job_id, job.attempt));
        tokio::fs::create_dir_all(&path)
            .await
            .map_err(|source| JobError::Scratch {
                path: path.clone(),
                source,
            })?;
        Ok(Self { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                warn!(path = %self.path.display(), error = %e, "Could not remove scratch directory");
            }
        }
    }
}

/// This process's scratch folder below the shared `root`: `<root>/w<pid>`.
pub(crate) fn own(root: &Path) -> PathBuf {
    root.join(format!("w{}", std::process::id()))
}

/// Removes what jobs of earlier, crashed workers on this host left behind below `own`'s parent:
/// every `w<pid>` folder whose process is gone, and this process's own (`own`); then makes
/// `own` again. An error names the folder it concerns.
pub(crate) async fn clean_stale(own: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    let root = own.parent().unwrap_or(own);
    let scratch_err = |source| (root.to_owned(), source);
    match tokio::fs::read_dir(root).await {
        Ok(mut entries) => {
            while let Some(entry) = entries.next_entry().await.map_err(scratch_err)? {
                let path = entry.path();
                let stale = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix('w'))
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| {
                        pid == std::process::id() || !Path::new(&format!("/proc/{pid}")).exists()
                    });
                if stale {
                    if let Err(e) = tokio::fs::remove_dir_all(&path).await {
                        warn!(path = %path.display(), error = %e, "Could not remove stale scratch");
                    }
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(scratch_err(e)),
    }
    tokio::fs::create_dir_all(own).await.map_err(scratch_err)
}

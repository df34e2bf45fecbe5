//! One new asset of a submission: its existence checks, its master's and subtitle files'
//! uploads, its job's publish. Many run at once (`SubmitOptions::uploads`).

use std::sync::atomic::{AtomicU64, Ordering};

use caravan_proto::{keys, BatchEntry, BatchId, Disposition, Job, MasterLocation};
use caravan_queue::Queue;
use caravan_store::Store;

use super::options::{MasterMode, SubmitOptions};
use crate::metadata::Catalogue;
use crate::outcomes::Outcomes;
use crate::scan::{ScanOutcome, ScannedFile};
use crate::sidecars::Found;
use crate::SchedulerError;

/// What every asset's publish shares.
pub struct Publisher<'a> {
    pub store: &'a Store,
    pub queue: &'a Queue,
    pub options: &'a SubmitOptions,
    pub catalogue: &'a Catalogue,
    pub outcomes: &'a Outcomes,
    pub batch_id: &'a BatchId,
    /// Bytes of masters and subtitle files uploaded so far.
    pub uploaded: AtomicU64,
    /// Bytes of a store prefix's masters copied on the server so far.
    pub copied: AtomicU64,
}

/// The batch index's entry for a scanned file, with `disposition`.
pub fn entry(file: &ScannedFile, disposition: Disposition) -> BatchEntry {
    let (asset_id, kind, media_type) = match &file.outcome {
        ScanOutcome::Media { asset_id, sniffed } => (
            Some(asset_id.clone()),
            Some(sniffed.kind),
            Some(sniffed.media_type.to_owned()),
        ),
        ScanOutcome::Rejected { .. } => (None, None, None),
    };
    BatchEntry {
        source_name: file.source_name.clone(),
        asset_id,
        kind,
        media_type,
        size: file.size,
        modified: file.modified,
        disposition,
    }
}

impl Publisher<'_> {
    /// Publishes `file`'s job unless its asset is done or failed already; the entry says which.
    pub async fn publish(
        &self,
        file: ScannedFile,
        subtitles: Vec<Found>,
    ) -> Result<BatchEntry, SchedulerError> {
        let ScanOutcome::Media { asset_id, sniffed } = &file.outcome else {
            unreachable!("only media files are published")
        };
        let (store, options) = (self.store, self.options);
        let outcomes = self.outcomes;
        if (outcomes.receipt(store, asset_id, &options.profile).await?).is_some() {
            return Ok(entry(&file, Disposition::AlreadyDone));
        }
        if !options.retry_failed {
            if let Some(failure) = outcomes.failure(store, asset_id, &options.profile).await? {
                return Ok(entry(
                    &file,
                    Disposition::AlreadyFailed {
                        code: failure.code,
                        message: failure.message,
                    },
                ));
            }
        }
        let master = match options.masters {
            MasterMode::InPlace => MasterLocation::LocalPath {
                path: file.path.clone(),
            },
            MasterMode::Upload => {
                let key = keys::master(asset_id);
                if outcomes.master_size(store, asset_id).await? != Some(file.size) {
                    match &file.object {
                        Some(object) => {
                            let media_type = sniffed.media_type;
                            store.copy(object, &key, file.size, media_type).await?;
                            self.copied.fetch_add(file.size, Ordering::Relaxed);
                        }
                        None => {
                            store
                                .put_file(&key, &file.path, sniffed.media_type, &Default::default())
                                .await?;
                            self.uploaded.fetch_add(file.size, Ordering::Relaxed);
                        }
                    }
                }
                MasterLocation::Store { key }
            }
        };
        let mut sidecars = Vec::new();
        for found in subtitles {
            let location = match options.masters {
                MasterMode::InPlace => MasterLocation::LocalPath {
                    path: found.path.clone(),
                },
                MasterMode::Upload => {
                    let key = keys::sidecar(&found.sha256);
                    if store.size_of(&key).await? != Some(found.size) {
                        store
                            .put_file(&key, &found.path, "text/plain", &Default::default())
                            .await?;
                        self.uploaded.fetch_add(found.size, Ordering::Relaxed);
                    }
                    MasterLocation::Store { key }
                }
            };
            sidecars.push(found.sidecar(location));
        }
        let job = Job {
            v: caravan_proto::PROTO_VERSION,
            job_id: uuid::Uuid::new_v4(),
            batch_id: self.batch_id.clone(),
            asset_id: asset_id.clone(),
            master,
            master_size: file.size,
            media_type: sniffed.media_type.to_owned(),
            kind: sniffed.kind,
            profile: options.profile.clone(),
            attempt: 1,
            source_name: Some(file.source_name.clone()),
            submitted_at: chrono::Utc::now(),
            metadata: self.catalogue.get(&file.source_name),
            subtitles: sidecars,
        };
        self.queue.publish_job(&job).await?;
        Ok(entry(&file, Disposition::Queued { job_id: job.job_id }))
    }
}

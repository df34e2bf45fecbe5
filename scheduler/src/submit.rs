//! `caravan submit`: one job per new asset of a folder, a batch index, and (optionally) the
//! wait until every job has ended.

use caravan_proto::{
    keys, BatchEntry, BatchId, BatchIndex, Disposition, Job, MasterLocation, ProfileName,
};
use caravan_queue::Queue;
use caravan_store::Store;
use indicatif::{ProgressBar, ProgressDrawTarget};
use tracing::{info, warn};

use crate::metadata::{Catalogue, METADATA_FILE};
use crate::scan::{scan, ScanOutcome};
use crate::status::{summarize, Summary};
use crate::{follow, SchedulerError};

/// What a batch is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder on this machine, searched recursively.
    Folder(std::path::PathBuf),
    /// Objects below a key prefix in the store (masters uploaded there directly).
    StorePrefix(String),
}

/// How workers get at the masters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterMode {
    /// Workers share this machine's filesystem (embedded mode): jobs point at the files.
    InPlace,
    /// Masters are uploaded to `masters/<sha256>` (cluster mode); existing ones are not sent again.
    Upload,
}

#[derive(Debug, Clone)]
pub struct SubmitOptions {
    pub profile: ProfileName,
    pub masters: MasterMode,
    /// Wait for every job to end before returning.
    pub wait: bool,
    /// Draw progress bars on stderr (when it is a terminal).
    pub progress: bool,
    /// Publish assets again whose earlier job failed permanently.
    pub retry_failed: bool,
    /// The BCP 47 tag of the catalogue's untagged text columns (checked by
    /// [`crate::metadata::language_tag`]); `None`: not said.
    pub language: Option<String>,
}

/// Submits every file of `source` and returns the batch's summary.
pub async fn submit(
    store: &Store,
    queue: &Queue,
    source: &Source,
    options: &SubmitOptions,
) -> Result<Summary, SchedulerError> {
    let batch_id = BatchId::generate();
    let bar = progress_bar(options);
    bar.set_message("hashing masters");
    let on_file = |f: &crate::scan::ScannedFile| {
        bar.inc(1);
        bar.set_message(f.source_name.clone());
    };
    let (mut files, described, catalogue) = match source {
        Source::Folder(dir) => {
            let dir = std::fs::canonicalize(dir).map_err(|e| SchedulerError::Source {
                path: dir.clone(),
                source: e,
            })?;
            let path = dir.join(METADATA_FILE);
            let catalogue = match std::fs::read(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => return Err(SchedulerError::Source { path, source }),
            };
            (
                scan(&dir, on_file).await?,
                dir.display().to_string(),
                catalogue,
            )
        }
        Source::StorePrefix(prefix) => {
            if options.masters == MasterMode::InPlace {
                return Err(SchedulerError::Source {
                    path: prefix.into(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "a store prefix needs masters in the store",
                    ),
                });
            }
            let key = format!("{}/{METADATA_FILE}", prefix.trim_end_matches('/'));
            (
                crate::scan::scan_store(store, prefix.as_str(), on_file).await?,
                format!("{} (prefix {prefix})", store.describe()),
                store.get_bytes(&key).await?,
            )
        }
    };
    // Subtitle files beside a video travel with its job (read in place, or uploaded).
    let mut subtitles = crate::sidecars::pair(&mut files);
    let catalogue = match catalogue {
        Some(bytes) => Catalogue::parse(
            &String::from_utf8_lossy(&bytes),
            options.language.as_deref(),
        )
        .map_err(SchedulerError::Catalogue)?,
        None => Catalogue::default(),
    };
    if !catalogue.is_empty() {
        let names: Vec<&str> = files.iter().map(|f| f.source_name.as_str()).collect();
        let unmatched = catalogue.unmatched(&names);
        info!(
            rows = catalogue.len(),
            "Read the submission's catalogue ({METADATA_FILE})"
        );
        if !unmatched.is_empty() {
            warn!(
                rows = unmatched.len(),
                first = unmatched[0],
                "Rows of {METADATA_FILE} name no file of the submission; check their spelling"
            );
        }
    }
    info!(batch_id = %batch_id, files = files.len(), source = %described, "Scanned submission");

    // Subscribe before publishing, so no event of this batch is missed.
    let events = queue.subscribe_events(&batch_id).await?;

    let mut entries = Vec::with_capacity(files.len());
    let mut seen = std::collections::HashMap::new();
    for file in files {
        let (asset_id, sniffed) = match &file.outcome {
            ScanOutcome::Rejected { code, message } => {
                entries.push(BatchEntry {
                    source_name: file.source_name,
                    asset_id: None,
                    kind: None,
                    media_type: None,
                    size: file.size,
                    disposition: Disposition::Rejected {
                        code: (*code).into(),
                        message: message.clone(),
                    },
                });
                continue;
            }
            ScanOutcome::Media { asset_id, sniffed } => (asset_id.clone(), *sniffed),
        };
        let entry = |disposition| BatchEntry {
            source_name: file.source_name.clone(),
            asset_id: Some(asset_id.clone()),
            kind: Some(sniffed.kind),
            media_type: Some(sniffed.media_type.to_owned()),
            size: file.size,
            disposition,
        };
        if let Some(first) = seen.get(&asset_id) {
            entries.push(entry(Disposition::Duplicate {
                of: String::clone(first),
            }));
            continue;
        }
        seen.insert(asset_id.clone(), file.source_name.clone());
        if store
            .size_of(&keys::receipt(&asset_id, &options.profile))
            .await?
            .is_some()
        {
            entries.push(entry(Disposition::AlreadyDone));
            continue;
        }
        if !options.retry_failed {
            let failure = crate::status::failure_record(store, &asset_id, &options.profile).await?;
            if let Some(failure) = failure {
                entries.push(entry(Disposition::AlreadyFailed {
                    code: failure.code,
                    message: failure.message,
                }));
                continue;
            }
        }
        let master = match options.masters {
            MasterMode::InPlace => MasterLocation::LocalPath {
                path: file.path.clone(),
            },
            MasterMode::Upload => {
                let key = keys::master(&asset_id);
                if store.size_of(&key).await? != Some(file.size) {
                    bar.set_message(format!("uploading {}", file.source_name));
                    store
                        .put_file(&key, &file.path, sniffed.media_type, &Default::default())
                        .await?;
                }
                MasterLocation::Store { key }
            }
        };
        let mut sidecars = Vec::new();
        for found in subtitles.remove(&file.source_name).unwrap_or_default() {
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
                    }
                    MasterLocation::Store { key }
                }
            };
            sidecars.push(found.sidecar(location));
        }
        let job = Job {
            v: caravan_proto::PROTO_VERSION,
            job_id: uuid::Uuid::new_v4(),
            batch_id: batch_id.clone(),
            asset_id: asset_id.clone(),
            master,
            master_size: file.size,
            media_type: sniffed.media_type.to_owned(),
            kind: sniffed.kind,
            profile: options.profile.clone(),
            attempt: 1,
            source_name: Some(file.source_name.clone()),
            submitted_at: chrono::Utc::now(),
            metadata: catalogue.get(&file.source_name),
            subtitles: sidecars,
        };
        queue.publish_job(&job).await?;
        entries.push(entry(Disposition::Queued { job_id: job.job_id }));
    }

    if matches!(source, Source::StorePrefix(_)) {
        // The subtitle files scanned from the store are uploaded now (or had no video).
        let _ = std::fs::remove_dir_all(crate::scan::sidecar_folder());
    }
    let index = BatchIndex {
        v: caravan_proto::PROTO_VERSION,
        batch_id: batch_id.clone(),
        source: described,
        profile: options.profile.clone(),
        created_at: chrono::Utc::now(),
        entries,
    };
    finish(store, queue, &index, events, options, &bar).await
}

/// A progress bar on stderr when `options` asks for one.
pub(crate) fn progress_bar(options: &SubmitOptions) -> ProgressBar {
    if options.progress {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    }
}

/// Stores the batch index of jobs already published, waits for them when `options` says so
/// (`events`: the batch's subscription, made before publishing) and returns the summary.
pub(crate) async fn finish(
    store: &Store,
    queue: &Queue,
    index: &BatchIndex,
    events: caravan_queue::EventStream,
    options: &SubmitOptions,
    bar: &ProgressBar,
) -> Result<Summary, SchedulerError> {
    let batch_id = &index.batch_id;
    let body = serde_json::to_vec_pretty(index).expect("batch indexes serialize");
    store
        .put_bytes(&keys::batch(batch_id), body, "application/json")
        .await?;
    let queued = index
        .entries
        .iter()
        .filter(|e| matches!(e.disposition, Disposition::Queued { .. }))
        .count();
    info!(batch_id = %batch_id, queued, "Batch published");

    if options.wait {
        follow::follow(store, queue, Some(events), index, bar).await?;
    }
    bar.finish_and_clear();
    if let Err(e) = queue.unsubscribe_events(batch_id).await {
        tracing::debug!(error = %e, "Could not remove the batch's event queue; it expires on its own");
    }
    summarize(store, index).await
}

//! Assets submitted before, processed again with another profile (an exhibition site's, say):
//! a new batch of one job per asset, each master taken from where its first submission left
//! it — `masters/<sha256>` in the store, or (embedded mode) the file in the submitted folder —
//! with the title, creator and rights and the subtitle files it was processed with before.

use std::path::PathBuf;

use caravan_proto::{
    keys, AssetId, AssetMetadata, BatchEntry, BatchId, BatchIndex, Disposition, Job,
    MasterLocation, Receipt, Sidecar, SubtitleFormat,
};
use caravan_queue::Queue;
use caravan_store::Store;
use tracing::info;

use crate::status::{all_indexes, Summary};
use crate::submit::{finish, progress_bar};
use crate::{MasterMode, SchedulerError, SubmitOptions};

/// The code of a batch entry whose master could not be found again.
pub const MASTER_UNAVAILABLE: &str = "master_unavailable";

/// Processes `assets` with `options.profile` as a new batch described as `described` and
/// returns its summary. An asset with a receipt for the profile is not published again; one
/// no batch of the store knows, or whose master is gone, is rejected, saying what to do.
pub async fn reprocess(
    store: &Store,
    queue: &Queue,
    assets: &[AssetId],
    described: &str,
    options: &SubmitOptions,
) -> Result<Summary, SchedulerError> {
    let batch_id = BatchId::generate();
    let bar = progress_bar(options);
    let indexes = all_indexes(store).await?;
    let events = queue.subscribe_events(&batch_id).await?;
    let mut entries = Vec::with_capacity(assets.len());
    for asset in assets {
        let Some((index, entry)) = first_submission(&indexes, asset) else {
            entries.push(rejected(
                asset.to_string(),
                asset,
                format!("no batch of this store has asset {asset}; submit its master first"),
            ));
            continue;
        };
        let name = entry.source_name.clone();
        let (Some(kind), Some(media_type)) = (entry.kind, entry.media_type.clone()) else {
            let why = "its batch index does not say what kind of media it is";
            entries.push(rejected(
                name,
                asset,
                format!("{why}; submit its master again"),
            ));
            continue;
        };
        let queued = |disposition| BatchEntry {
            disposition,
            ..entry.clone()
        };
        if (store
            .size_of(&keys::receipt(asset, &options.profile))
            .await?)
            .is_some()
        {
            entries.push(queued(Disposition::AlreadyDone));
            continue;
        }
        let Some(master) = master_of(store, index, entry, options.masters).await? else {
            let message = format!(
                "its master is neither in the store ({}) nor at {}; submit the folder holding it again with --profile {}",
                keys::master(asset),
                in_place(index, entry).display(),
                options.profile
            );
            entries.push(rejected(name, asset, message));
            continue;
        };
        let earlier = earlier_receipt(store, asset, index).await?;
        let subtitles = sidecars_of(store, index, &earlier, options.masters).await?;
        let job = Job {
            v: caravan_proto::PROTO_VERSION,
            job_id: uuid::Uuid::new_v4(),
            batch_id: batch_id.clone(),
            asset_id: asset.clone(),
            master,
            master_size: entry.size,
            media_type,
            kind,
            profile: options.profile.clone(),
            attempt: 1,
            source_name: Some(name),
            submitted_at: chrono::Utc::now(),
            metadata: earlier.metadata,
            subtitles,
        };
        queue.publish_job(&job).await?;
        entries.push(queued(Disposition::Queued { job_id: job.job_id }));
    }
    let index = BatchIndex {
        v: caravan_proto::PROTO_VERSION,
        batch_id,
        source: described.to_owned(),
        profile: options.profile.clone(),
        created_at: chrono::Utc::now(),
        entries,
    };
    let queued = (index.entries.iter())
        .filter(|e| matches!(e.disposition, Disposition::Queued { .. }))
        .count();
    info!(batch_id = %index.batch_id, queued, profile = %options.profile, source = described, "Processing earlier assets with another profile");
    finish(store, queue, &index, events, options, &bar).await
}

/// The asset's first entry that was queued or found done, in the oldest batch holding one.
fn first_submission<'a>(
    indexes: &'a [BatchIndex],
    asset: &AssetId,
) -> Option<(&'a BatchIndex, &'a BatchEntry)> {
    indexes.iter().find_map(|index| {
        let entry = index.entries.iter().find(|e| {
            e.asset_id.as_ref() == Some(asset)
                && !matches!(
                    e.disposition,
                    Disposition::Rejected { .. } | Disposition::Duplicate { .. }
                )
        })?;
        Some((index, entry))
    })
}

/// Where a worker finds the master: the store's copy when it is whole, else (workers on this
/// machine) the file it was submitted as, if it is still there.
async fn master_of(
    store: &Store,
    index: &BatchIndex,
    entry: &BatchEntry,
    mode: MasterMode,
) -> Result<Option<MasterLocation>, SchedulerError> {
    let asset = entry.asset_id.as_ref().expect("entries found by asset id");
    let key = keys::master(asset);
    if store.size_of(&key).await? == Some(entry.size) {
        return Ok(Some(MasterLocation::Store { key }));
    }
    let path = in_place(index, entry);
    let here = mode == MasterMode::InPlace
        && std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == entry.size);
    Ok(here.then_some(MasterLocation::LocalPath { path }))
}

/// The master's path when its batch was a folder on this machine (the worker checks its
/// SHA-256 before using it).
fn in_place(index: &BatchIndex, entry: &BatchEntry) -> PathBuf {
    submitted(index, &entry.source_name)
}

/// Where the file `source_name` of `index`'s batch was, when the batch was a folder here.
fn submitted(index: &BatchIndex, source_name: &str) -> PathBuf {
    PathBuf::from(&index.source).join(source_name)
}

/// What the asset was processed with under its batch's profile: the catalogue's text and
/// its subtitle files (none when that receipt is missing).
#[derive(Default)]
struct Earlier {
    metadata: AssetMetadata,
    /// The receipt's record of each sidecar (`master_info.subtitles`).
    subtitles: Vec<serde_json::Value>,
}

async fn earlier_receipt(
    store: &Store,
    asset: &AssetId,
    index: &BatchIndex,
) -> Result<Earlier, SchedulerError> {
    let Some(bytes) = store
        .get_bytes(&keys::receipt(asset, &index.profile))
        .await?
    else {
        return Ok(Earlier::default());
    };
    let Ok(receipt) = serde_json::from_slice::<Receipt>(&bytes) else {
        return Ok(Earlier::default());
    };
    let subtitles = (receipt.master_info.get("subtitles"))
        .and_then(|s| s.as_array().cloned())
        .unwrap_or_default();
    Ok(Earlier {
        metadata: receipt.metadata,
        subtitles,
    })
}

/// The earlier job's subtitle files, where they still are: in the store
/// (`sidecars/<sha256>`), or (workers on this machine) in the submitted folder. One that is
/// in neither place is left out, and said to be.
async fn sidecars_of(
    store: &Store,
    index: &BatchIndex,
    earlier: &Earlier,
    mode: MasterMode,
) -> Result<Vec<Sidecar>, SchedulerError> {
    let mut sidecars = Vec::new();
    for record in &earlier.subtitles {
        let text = |field: &str| record[field].as_str().unwrap_or_default().to_owned();
        let (sha256, source_name) = (text("sha256"), text("source_name"));
        let Ok(format) = serde_json::from_value::<SubtitleFormat>(record["format"].clone()) else {
            continue;
        };
        let key = keys::sidecar(&sha256);
        let path = submitted(index, &source_name);
        let here = (mode == MasterMode::InPlace)
            .then(|| std::fs::metadata(&path).ok())
            .flatten()
            .filter(|m| m.is_file());
        let (location, size) = match (store.size_of(&key).await?, here) {
            (Some(size), _) => (MasterLocation::Store { key }, size),
            (None, Some(m)) => (MasterLocation::LocalPath { path }, m.len()),
            (None, None) => {
                tracing::warn!(file = source_name, "A subtitle file of the earlier job is gone; the new profile's outputs go without it");
                continue;
            }
        };
        sidecars.push(Sidecar {
            language: text("language"),
            format,
            location,
            sha256,
            size,
            source_name,
        });
    }
    Ok(sidecars)
}

fn rejected(source_name: String, asset: &AssetId, message: String) -> BatchEntry {
    BatchEntry {
        source_name,
        asset_id: Some(asset.clone()),
        kind: None,
        media_type: None,
        size: 0,
        modified: None,
        disposition: Disposition::Rejected {
            code: MASTER_UNAVAILABLE.into(),
            message,
        },
    }
}

#[cfg(test)]
mod tests;

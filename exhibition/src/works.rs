//! The exhibition's works, found in the store: the assets of its batches, the files it names
//! (in any batch index) and its asset ids.

use caravan_proto::{AssetId, BatchIndex};
use caravan_scheduler::status::{failure_record, load_index};
use caravan_store::Store;

use crate::file::Selection;
use crate::ExhibitionError;

/// One work of the exhibition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub asset_id: AssetId,
    /// The file it was submitted as, when a batch index names it (for people only).
    pub source_name: Option<String>,
}

impl Work {
    /// How summaries and errors name the work.
    pub fn name(&self) -> String {
        self.source_name
            .clone()
            .unwrap_or_else(|| self.asset_id.to_string())
    }
}

/// Every work `selection` names, in order (batches, files, asset ids), each asset once.
pub async fn resolve(store: &Store, selection: &Selection) -> Result<Vec<Work>, ExhibitionError> {
    let mut works: Vec<Work> = Vec::new();
    let mut add = |work: Work| {
        if !works.iter().any(|w| w.asset_id == work.asset_id) {
            works.push(work);
        }
    };
    for batch in &selection.batches {
        let index = load_index(store, batch).await?;
        for entry in &index.entries {
            if let Some(asset_id) = &entry.asset_id {
                add(Work {
                    asset_id: asset_id.clone(),
                    source_name: Some(entry.source_name.clone()),
                });
            }
        }
    }
    if !selection.files.is_empty() {
        let indexes = all_indexes(store).await?;
        for file in &selection.files {
            let found = (indexes.iter().flat_map(|i| &i.entries))
                .find(|e| &e.source_name == file && e.asset_id.is_some());
            let Some(entry) = found else {
                return Err(ExhibitionError::Works(format!(
                    "assets.files: {file:?} is in no batch of this store; submit it first, or name it as it was submitted (its path inside the submitted folder)"
                )));
            };
            add(Work {
                asset_id: entry.asset_id.clone().expect("checked above"),
                source_name: Some(file.clone()),
            });
        }
    }
    for asset_id in &selection.asset_ids {
        add(Work {
            asset_id: asset_id.clone(),
            source_name: None,
        });
    }
    Ok(works)
}

/// Every batch index in the store, oldest first.
async fn all_indexes(store: &Store) -> Result<Vec<BatchIndex>, ExhibitionError> {
    let mut indexes = Vec::new();
    for (key, _) in store.list("batches/").await? {
        let Some(bytes) = store.get_bytes(&key).await? else {
            continue;
        };
        match serde_json::from_slice::<BatchIndex>(&bytes) {
            Ok(index) => indexes.push(index),
            Err(e) => tracing::warn!(key, error = %e, "Skipping a batch index that does not parse"),
        }
    }
    indexes.sort_by_key(|i| i.created_at);
    Ok(indexes)
}

/// The failure code of `work` under `profile`, when its processing failed.
pub(crate) async fn failed(
    store: &Store,
    work: &Work,
    profile: &caravan_proto::ProfileName,
) -> Result<Option<String>, ExhibitionError> {
    let failure = failure_record(store, &work.asset_id, profile).await?;
    Ok(failure.map(|f| f.code))
}

//! The exhibition's works, found in the store: the assets of its batches, the files it names
//! (in any batch index) and its asset ids.

use caravan_proto::{keys, AssetId, ProfileName, Receipt};
use caravan_scheduler::status::{all_indexes, failure_record, load_index};
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

/// What became of a work under a profile.
#[derive(Debug, Clone)]
pub enum State {
    Processed(Box<Receipt>),
    /// Its processing failed, with this code.
    Failed(String),
    /// Never processed with the profile (or not finished yet).
    Unprocessed,
}

/// Whether `work` has neither a receipt nor a failure record under `profile` (its receipt's
/// existence is asked, not its bytes).
pub async fn unprocessed(
    store: &Store,
    work: &Work,
    profile: &ProfileName,
) -> Result<bool, ExhibitionError> {
    let key = keys::receipt(&work.asset_id, profile);
    if store.size_of(&key).await?.is_some() {
        return Ok(false);
    }
    Ok(failure_record(store, &work.asset_id, profile)
        .await?
        .is_none())
}

/// The state of `work` under `profile`: its receipt, its failure record, or neither.
pub async fn state(
    store: &Store,
    work: &Work,
    profile: &ProfileName,
) -> Result<State, ExhibitionError> {
    let key = keys::receipt(&work.asset_id, profile);
    if let Some(bytes) = store.get_bytes(&key).await? {
        let receipt: Receipt = serde_json::from_slice(&bytes)
            .map_err(|e| ExhibitionError::Works(format!("receipt {key} does not parse: {e}")))?;
        return Ok(State::Processed(Box::new(receipt)));
    }
    let failure = failure_record(store, &work.asset_id, profile).await?;
    Ok(failure.map_or(State::Unprocessed, |f| State::Failed(f.code)))
}

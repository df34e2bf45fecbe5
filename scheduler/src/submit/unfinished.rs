//! Submitting the same source again goes on with its interrupted batch: while a submission to
//! a broker runs, `submissions/<digest>.json` names its batch ([`keys::unfinished_submission`]);
//! it is removed when the batch's index is complete.

use caravan_proto::{keys, BatchHeader, BatchId, ProfileName, SubmissionState};
use caravan_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::SchedulerError;

#[derive(Debug, Serialize, Deserialize)]
struct Pointer {
    batch_id: BatchId,
    source: String,
    profile: ProfileName,
}

fn key(source: &str, profile: &ProfileName) -> String {
    let digest = Sha256::digest(format!("{source}\n{profile}"));
    keys::unfinished_submission(&hex::encode(digest))
}

async fn pointed(
    store: &Store,
    source: &str,
    profile: &ProfileName,
) -> Result<Option<BatchId>, SchedulerError> {
    let key = key(source, profile);
    let Some(bytes) = store.get_bytes(&key).await? else {
        return Ok(None);
    };
    match serde_json::from_slice::<Pointer>(&bytes) {
        Ok(pointer) => Ok(Some(pointer.batch_id)),
        Err(e) => {
            warn!(%key, error = %e, "Ignoring a damaged pointer to an unfinished submission");
            Ok(None)
        }
    }
}

/// The interrupted batch of `source` with `profile` to go on with, if there is one. A batch
/// still `submitting` (another submission running, or one that died) is an error that says
/// how to go on: taking it over while its submitter runs would write its index twice.
pub async fn find(
    store: &Store,
    source: &str,
    profile: &ProfileName,
) -> Result<Option<BatchId>, SchedulerError> {
    let Some(batch) = pointed(store, source, profile).await? else {
        return Ok(None);
    };
    let header = match crate::index::header(store, &batch).await {
        Ok(header) => header,
        Err(SchedulerError::UnknownBatch(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    match header.state {
        SubmissionState::Interrupted => {
            info!(batch_id = %batch, "Going on with this source's interrupted batch (--new-batch starts another)");
            Ok(Some(batch))
        }
        SubmissionState::Submitting => Err(SchedulerError::StillSubmitting {
            batch: batch.to_string(),
        }),
        SubmissionState::Complete => Ok(None),
    }
}

/// Records that `header`'s batch is the unfinished submission of its source.
pub async fn remember(store: &Store, header: &BatchHeader) -> Result<(), SchedulerError> {
    let pointer = Pointer {
        batch_id: header.batch_id.clone(),
        source: header.source.clone(),
        profile: header.profile.clone(),
    };
    let bytes = serde_json::to_vec(&pointer).expect("pointers serialize");
    store
        .put_bytes(
            &key(&header.source, &header.profile),
            bytes,
            "application/json",
        )
        .await?;
    Ok(())
}

/// `header`'s batch is complete: its source has no unfinished submission unless a later one
/// took the pointer over.
pub async fn forget(store: &Store, header: &BatchHeader) -> Result<(), SchedulerError> {
    if pointed(store, &header.source, &header.profile).await? == Some(header.batch_id.clone()) {
        store.delete(&key(&header.source, &header.profile)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::submit::unfinished::*;

    fn header(state: SubmissionState) -> BatchHeader {
        BatchHeader {
            v: caravan_proto::PROTO_VERSION,
            batch_id: BatchId::generate(),
            source: "/archive/reel-7".into(),
            profile: ProfileName::parse("default").unwrap(),
            created_at: chrono::Utc::now(),
            state,
            shards: 0,
            entries: 0,
        }
    }

    async fn store_with(header: &BatchHeader) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Local(caravan_store::LocalStore::new(dir.path().to_owned()));
        store
            .put_bytes(
                &keys::batch_header(&header.batch_id),
                serde_json::to_vec(header).unwrap(),
                "application/json",
            )
            .await
            .unwrap();
        remember(&store, header).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn an_interrupted_batch_is_found_by_its_source_and_profile() {
        let interrupted = header(SubmissionState::Interrupted);
        let (_dir, store) = store_with(&interrupted).await;
        let profile = interrupted.profile.clone();
        let found = find(&store, "/archive/reel-7", &profile).await.unwrap();
        assert_eq!(found, Some(interrupted.batch_id.clone()));
        let other = ProfileName::parse("access").unwrap();
        assert_eq!(find(&store, "/archive/reel-7", &other).await.unwrap(), None);
        assert_eq!(
            find(&store, "/archive/reel-8", &profile).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_batch_still_submitting_is_not_taken_over() {
        let running = header(SubmissionState::Submitting);
        let (_dir, store) = store_with(&running).await;
        let err = find(&store, "/archive/reel-7", &running.profile)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SchedulerError::StillSubmitting { batch } if *batch == running.batch_id.to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("--new-batch"), "{err}");
    }

    #[tokio::test]
    async fn a_complete_batch_forgets_its_pointer_unless_another_took_it() {
        let first = header(SubmissionState::Complete);
        let (_dir, store) = store_with(&first).await;
        let key = key(&first.source, &first.profile);
        let second = header(SubmissionState::Interrupted);
        remember(&store, &second).await.unwrap();
        forget(&store, &first).await.unwrap();
        assert!(
            store.get_bytes(&key).await.unwrap().is_some(),
            "the later batch's pointer stays"
        );
        forget(&store, &second).await.unwrap();
        assert_eq!(store.get_bytes(&key).await.unwrap(), None);
    }
}

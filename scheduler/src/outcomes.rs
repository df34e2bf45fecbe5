//! Which assets have a receipt, a failure record or a stored master: asked one key at a time
//! for a small batch, or learnt from listings for a large one (one listing request answers a
//! thousand keys; on S3 the sixteen first hex digits are listed side by side).

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use caravan_proto::{keys, AssetId, FailureRecord, ProfileName};
use caravan_store::Store;
use futures::{StreamExt, TryStreamExt};

use crate::SchedulerError;

/// From this many assets on, listing beats a request per asset.
pub const LIST_FROM: usize = 500;

/// An asset id as the 32 bytes it spells (half the memory of its hex).
type Digest = [u8; 32];

#[derive(Debug)]
pub enum Outcomes {
    /// Ask the store for each key.
    PerKey,
    /// What the listings found.
    Listed {
        receipts: HashMap<Digest, SystemTime>,
        failures: HashSet<Digest>,
        masters: HashMap<Digest, u64>,
    },
}

impl Outcomes {
    /// Lists when `assets` (how many the caller will ask about) is at least [`LIST_FROM`];
    /// `masters`: whether to list the stored masters too.
    pub async fn for_assets(
        store: &Store,
        profile: &ProfileName,
        assets: usize,
        masters: bool,
    ) -> Result<Self, SchedulerError> {
        if assets < LIST_FROM {
            return Ok(Self::PerKey);
        }
        let receipts: HashMap<Digest, SystemTime> =
            records(list(store, keys::RECEIPTS).await?, keys::RECEIPTS, profile).collect();
        let failures: HashSet<Digest> =
            records(list(store, "failures/").await?, "failures/", profile)
                .map(|(d, _)| d)
                .collect();
        let mut stored = HashMap::new();
        if masters {
            for (key, size, _) in list(store, "masters/").await? {
                if let Some(d) = digest(&key, "masters/") {
                    stored.insert(d, size);
                }
            }
        }
        Ok(Self::Listed {
            receipts,
            failures,
            masters: stored,
        })
    }

    /// When `asset`'s receipt under `profile` was stored, if it is.
    pub async fn receipt(
        &self,
        store: &Store,
        asset: &AssetId,
        profile: &ProfileName,
    ) -> Result<Option<SystemTime>, SchedulerError> {
        match self {
            Self::PerKey => Ok((store.stat(&keys::receipt(asset, profile)).await?).map(|s| s.1)),
            Self::Listed { receipts, .. } => Ok(receipts.get(&bytes(asset)).copied()),
        }
    }

    /// `asset`'s failure record under `profile`, if one is stored and parses.
    pub async fn failure(
        &self,
        store: &Store,
        asset: &AssetId,
        profile: &ProfileName,
    ) -> Result<Option<FailureRecord>, SchedulerError> {
        if let Self::Listed { failures, .. } = self {
            if !failures.contains(&bytes(asset)) {
                return Ok(None);
            }
        }
        failure_record(store, asset, profile).await
    }

    /// The size of `asset`'s stored master, if it is stored.
    pub async fn master_size(
        &self,
        store: &Store,
        asset: &AssetId,
    ) -> Result<Option<u64>, SchedulerError> {
        match self {
            Self::PerKey => Ok(store.size_of(&keys::master(asset)).await?),
            Self::Listed { masters, .. } => Ok(masters.get(&bytes(asset)).copied()),
        }
    }
}

/// Every object below `prefix`: one listing of a folder store (it walks the folder anyway),
/// sixteen at once on S3 (one per first hex digit of the asset ids below it).
async fn list(
    store: &Store,
    prefix: &str,
) -> Result<Vec<(String, u64, SystemTime)>, SchedulerError> {
    if matches!(store, Store::Local(_)) {
        return Ok(store.list_with_times(prefix).await?);
    }
    let pages: Vec<Vec<_>> = futures::stream::iter("0123456789abcdef".chars())
        .map(|digit| async move { store.list_with_times(&format!("{prefix}{digit}")).await })
        .buffer_unordered(16)
        .try_collect()
        .await?;
    Ok(pages.into_iter().flatten().collect())
}

/// The asset and time of each `<prefix><sha256>/<profile>.json` among `listed`: the profile's
/// record (receipt, failure) of each asset.
fn records<'a>(
    listed: Vec<(String, u64, SystemTime)>,
    prefix: &'a str,
    profile: &ProfileName,
) -> impl Iterator<Item = (Digest, SystemTime)> + 'a {
    let suffix = format!("/{profile}.json");
    listed.into_iter().filter_map(move |(key, _, modified)| {
        let asset = key.strip_suffix(&suffix).and_then(|k| digest(k, prefix))?;
        Some((asset, modified))
    })
}

/// The asset id a key below `prefix` starts with.
fn digest(key: &str, prefix: &str) -> Option<Digest> {
    let hex_id = key.strip_prefix(prefix)?.get(..64)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_id, &mut out).ok()?;
    Some(out)
}

fn bytes(asset: &AssetId) -> Digest {
    digest(asset.as_str(), "").expect("an asset id is 64 hex digits")
}

/// The stored failure record of `asset` under `profile`, if there is one that parses.
pub async fn failure_record(
    store: &Store,
    asset: &caravan_proto::AssetId,
    profile: &caravan_proto::ProfileName,
) -> Result<Option<FailureRecord>, SchedulerError> {
    let Some(bytes) = store.get_bytes(&keys::failure(asset, profile)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<FailureRecord>(&bytes).ok())
}

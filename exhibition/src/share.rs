//! One expiring link per site: a presigned link to the site's **share index** — a JSON file
//! in the store listing a presigned link to every file of the site's pack — so the site pulls
//! its pack (`caravan pull <link> <dir>`) with no credentials, and can reach nothing else of
//! the bucket: each link is good for one object, read-only, until it expires.
//!
//! The index is `shares/<exhibition>/<site>/<created>.json`:
//! `{"caravan_share": 1, "exhibition", "site", "created_at", "expires_at", "files": {"<path in
//! the bag>": "<link>", …}}`.

use std::collections::BTreeMap;
use std::time::Duration;

use caravan_store::Store;
use serde::{Deserialize, Serialize};

use crate::file::{Exhibition, Site};
use crate::pack::store_prefix;
use crate::ExhibitionError;

/// The longest a presigned link lasts (S3's limit).
pub const LONGEST: Duration = caravan_store::S3Store::LONGEST_PRESIGNED;

/// The share index's format version, in its `caravan_share` field.
pub const FORMAT: u32 = 1;

/// What a share index holds (read by `caravan pull`, which has its own copy of the format).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareIndex {
    pub caravan_share: u32,
    pub exhibition: String,
    pub site: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// A link per file of the bag, by its path in the bag.
    pub files: BTreeMap<String, String>,
}

/// What `share` made.
#[derive(Debug, Clone, Serialize)]
pub struct Shared {
    pub site: String,
    /// The one link to give the site.
    pub url: String,
    pub index_key: String,
    pub files: usize,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Presigns every file of `site`'s pack in the store for `expires_in`, stores the index and
/// returns the link to it.
pub async fn share(
    store: &Store,
    exhibition: &Exhibition,
    site: &Site,
    expires_in: Duration,
) -> Result<Shared, ExhibitionError> {
    if expires_in > LONGEST {
        return Err(ExhibitionError::Share(format!(
            "--expires {}: a presigned link lasts 7 days at most (S3's SigV4 limit, on AWS and Garage alike); share for 7d or less and share again before it runs out",
            humanize(expires_in)
        )));
    }
    let Store::S3(s3) = store else {
        return Err(ExhibitionError::Share(
            "sharing needs the S3 store: a folder store has no links to give; write the pack to a folder (`exhibition build --out`) and copy it to the site, or serve that folder".into(),
        ));
    };
    let prefix = store_prefix(&exhibition.id, &site.id);
    let files = s3.presigned_below(&prefix, expires_in).await?;
    if !files.contains_key("bagit.txt") {
        return Err(ExhibitionError::Share(format!(
            "site {}: no complete pack under {prefix} in the store; build it first (`caravan exhibition build <file>`)",
            site.id
        )));
    }
    let created_at = chrono::Utc::now();
    let expires_at = created_at
        + chrono::Duration::from_std(expires_in).expect("at most a week fits a chrono duration");
    let index = ShareIndex {
        caravan_share: FORMAT,
        exhibition: exhibition.id.clone(),
        site: site.id.clone(),
        created_at,
        expires_at,
        files,
    };
    let index_key = format!(
        "shares/{}/{}/{}.json",
        exhibition.id,
        site.id,
        created_at.format("%Y%m%dT%H%M%S%.3fZ")
    );
    let body = serde_json::to_vec_pretty(&index).expect("share indexes serialize");
    store
        .put_bytes(&index_key, body, "application/json")
        .await?;
    let url = s3.presigned_get(&index_key, expires_in).await?;
    tracing::info!(site = %site.id, files = index.files.len(), %expires_at, index_key, "Pack shared");
    Ok(Shared {
        site: site.id.clone(),
        url,
        index_key,
        files: index.files.len(),
        expires_at,
    })
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{s}s"),
    }
}

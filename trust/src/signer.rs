//! What a signing worker signs with: the key (receipts, through [`SigningKeys`]) and the content
//! credentials embedded in public outputs, and which outputs get them and what their
//! manifests say was done.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use caravan_proto::{JobKind, Profile};

use crate::credentials::{ContentCredentials, Facts, SIGNED_MEDIA_TYPES};
use crate::error::TrustError;
use crate::keys::SigningKeys;

/// A worker's signing key and content-credential signer, loaded once at start-up.
#[derive(Debug)]
pub struct Signer {
    keys: Arc<SigningKeys>,
    credentials: ContentCredentials,
}

impl Signer {
    /// From the key and certificate chain files (`CARAVAN_SIGNING_KEY_FILE`,
    /// `CARAVAN_C2PA_CERT_FILE`).
    pub fn load(key_file: &Path, chain_file: &Path) -> Result<Self, TrustError> {
        Self::new(SigningKeys::load(key_file, chain_file)?)
    }

    /// From a folder `caravan keys generate` wrote.
    pub fn load_dir(dir: &Path) -> Result<Self, TrustError> {
        Self::new(SigningKeys::load_dir(dir)?)
    }

    pub fn new(keys: SigningKeys) -> Result<Self, TrustError> {
        let credentials = ContentCredentials::new(&keys)?;
        Ok(Self {
            keys: Arc::new(keys),
            credentials,
        })
    }

    pub fn keys(&self) -> &Arc<SigningKeys> {
        &self.keys
    }

    /// Embeds content credentials in the output at `path` (blocking: hashes the whole file).
    pub fn embed(&self, path: &Path, facts: &Facts<'_>) -> Result<(), TrustError> {
        self.credentials.embed(path, facts)
    }
}

/// Whether an output gets content credentials: the public pictures and the access video —
/// JPEG, WebP and MP4 outside `iiif/` (tiles, fetched by the thousand) and `hls/` (segments).
pub fn wants_credentials(name: &str, media_type: &str) -> bool {
    SIGNED_MEDIA_TYPES.contains(&media_type) && !name.starts_with("iiif/") && !name.contains('/')
}

/// The C2PA actions, after opening the master, that made an output: always
/// `c2pa.transcoded` (a new encoding of the master's pictures), `c2pa.resized` when its size
/// differs from the master's displayed size, `c2pa.color_adjustments` when the master's colours
/// were converted into sRGB, `c2pa.watermarked` when the profile burns in a watermark.
pub fn actions(
    kind: JobKind,
    profile: &Profile,
    master_info: &BTreeMap<String, serde_json::Value>,
    name: &str,
    size: (Option<u32>, Option<u32>),
) -> Vec<&'static str> {
    let number = |key: &str| master_info.get(key).and_then(serde_json::Value::as_u64);
    let master_size = match kind {
        JobKind::Image => (number("width_displayed"), number("height_displayed")),
        _ => (number("width"), number("height")),
    };
    let mut actions = vec!["c2pa.transcoded"];
    let out = (size.0.map(u64::from), size.1.map(u64::from));
    if out.0.is_some() && out != master_size {
        actions.push("c2pa.resized");
    }
    if master_info.get("colour_converted") == Some(&serde_json::Value::Bool(true)) {
        actions.push("c2pa.color_adjustments");
    }
    let watermarked = match kind {
        JobKind::Image => profile.image.watermark.enabled && name.starts_with("access"),
        _ => profile.video.watermark.enabled,
    };
    if watermarked {
        actions.push("c2pa.watermarked");
    }
    actions
}

#[cfg(test)]
mod tests;

//! The object-key layout. Every key is built here, from validated ids only.
//!
//! ```text
//! masters/<sha256>                               the master, byte for byte
//! derivatives/<sha256>/<profile>/<output name>   outputs of one profile
//! receipts/<sha256>/<profile>.json               commit record: written last
//! failures/<sha256>/<profile>.json               why the asset could not be processed
//! batches/<batch id>/index.json                  batch index header (state, shard count)
//! batches/<batch id>/entries-<n>.jsonl           batch index entries, JSON Lines, in shards
//! batches/<batch id>.json                        batch index stored whole (before shards)
//! claims/<sha256>/<profile>.json                 lease of the worker processing it now
//! receipts/<sha256>/<profile>.json.sig           Ed25519 signature of the receipt's bytes
//! keys/<key id>.pub                              public key receipts and tree heads name (PEM)
//! log/entries/<index>-<digest>.json              transparency log entry (index 20 digits)
//! log/tree-heads/<size>.json (+ .sig)            signed tree head (size 20 digits)
//! log/consistency/<from>-<to>.json               consistency proof between tree heads
//! log/proofs/<sha256>/<profile>.json             a receipt's inclusion proof
//! ```

use crate::ids::{AssetId, BatchId, OutputName, ProfileName};

pub fn master(asset: &AssetId) -> String {
    format!("masters/{asset}")
}

/// A subtitle file that travels with a video master, by its SHA-256 (cluster mode).
pub fn sidecar(sha256: &str) -> String {
    format!("sidecars/{sha256}")
}

pub fn derivative(asset: &AssetId, profile: &ProfileName, output: &OutputName) -> String {
    format!("{DERIVATIVES}{asset}/{profile}/{output}")
}

pub const DERIVATIVES: &str = "derivatives/";

/// The asset and profile a derivative's key (`derivatives/<sha256>/<profile>/…`) belongs to.
pub fn parse_derivative(key: &str) -> Option<(AssetId, ProfileName)> {
    let rest = key.strip_prefix(DERIVATIVES)?;
    let mut parts = rest.splitn(3, '/');
    let (asset, profile, name) = (parts.next()?, parts.next()?, parts.next()?);
    if name.is_empty() {
        return None;
    }
    Some((
        AssetId::parse(asset).ok()?,
        ProfileName::parse(profile).ok()?,
    ))
}

pub fn receipt(asset: &AssetId, profile: &ProfileName) -> String {
    format!("{RECEIPTS}{asset}/{profile}.json")
}

pub fn failure(asset: &AssetId, profile: &ProfileName) -> String {
    format!("failures/{asset}/{profile}.json")
}

/// A batch index stored whole, as batches were before [`batch_header`] (still read).
pub fn batch(batch: &BatchId) -> String {
    format!("{BATCHES}{batch}.json")
}

pub const BATCHES: &str = "batches/";

/// A batch index's header ([`crate::BatchHeader`]).
pub fn batch_header(batch: &BatchId) -> String {
    format!("{BATCHES}{batch}/index.json")
}

/// The prefix of a batch index's entry shards.
pub fn batch_shards(batch: &BatchId) -> String {
    format!("{BATCHES}{batch}/entries-")
}

/// Shard `n` of a batch index's entries (JSON Lines).
pub fn batch_shard(batch: &BatchId, n: u32) -> String {
    format!("{}{n:06}.jsonl", batch_shards(batch))
}

pub const SUBMISSIONS: &str = "submissions/";

/// Which batch an unfinished submission of one source with one profile writes, named by the
/// SHA-256 (hex) of `<source>\n<profile>`: submitting the same source again finds it there.
pub fn unfinished_submission(source_digest: &str) -> String {
    format!("{SUBMISSIONS}{source_digest}.json")
}

/// The batch a key below `batches/` belongs to, if it is a header or a whole index.
pub fn parse_batch_index(key: &str) -> Option<BatchId> {
    let rest = key.strip_prefix(BATCHES)?;
    let id = match rest.split_once('/') {
        Some((id, "index.json")) => id,
        Some(_) => return None,
        None => rest.strip_suffix(".json")?,
    };
    BatchId::parse(id).ok()
}

pub fn claim(asset: &AssetId, profile: &ProfileName) -> String {
    format!("claims/{asset}/{profile}.json")
}

pub fn receipt_signature(asset: &AssetId, profile: &ProfileName) -> String {
    format!("receipts/{asset}/{profile}.json.sig")
}

/// `key_id`: 16 lowercase hex digits ([`crate::SignedBy::key_id`]), checked by the caller.
pub fn public_key(key_id: &str) -> String {
    format!("{KEYS}{key_id}.pub")
}

pub const KEYS: &str = "keys/";
pub const LOG_ENTRIES: &str = "log/entries/";
pub const LOG_TREE_HEADS: &str = "log/tree-heads/";

/// `digest`: the entry's digest ([`crate::LogEntry::leaf_bytes`], hashed) in lowercase hex.
pub fn log_entry(index: u64, digest: &str) -> String {
    format!("{}{digest}.json", log_entry_index_prefix(index))
}

/// Every entry at `index` (one, unless the log forked) starts with this.
pub fn log_entry_index_prefix(index: u64) -> String {
    format!("{LOG_ENTRIES}{index:020}-")
}

pub fn tree_head(size: u64) -> String {
    format!("{LOG_TREE_HEADS}{size:020}.json")
}

pub fn tree_head_signature(size: u64) -> String {
    format!("{LOG_TREE_HEADS}{size:020}.json.sig")
}

pub fn consistency_proof(from: u64, to: u64) -> String {
    format!("log/consistency/{from:020}-{to:020}.json")
}

pub fn inclusion_proof(asset: &AssetId, profile: &ProfileName) -> String {
    format!("{LOG_PROOFS}{asset}/{profile}.json")
}

pub const RECEIPTS: &str = "receipts/";
pub const LOG_PROOFS: &str = "log/proofs/";

/// The inclusion proof's key for a receipt's key (`receipts/<sha256>/<profile>.json`).
pub fn inclusion_proof_of_receipt(receipt_key: &str) -> Option<String> {
    receipt_key
        .strip_prefix(RECEIPTS)
        .map(|rest| format!("{LOG_PROOFS}{rest}"))
}

/// The asset and profile a receipt's key names.
pub fn parse_receipt(key: &str) -> Option<(AssetId, ProfileName)> {
    let rest = key.strip_prefix(RECEIPTS)?.strip_suffix(".json")?;
    let (asset, profile) = rest.split_once('/')?;
    Some((
        AssetId::parse(asset).ok()?,
        ProfileName::parse(profile).ok()?,
    ))
}

//! What makes a receipt verifiable by a third party: which key signed it, and the entries,
//! tree heads and proofs of the append-only transparency log every signed receipt is written
//! to (RFC 6962 / Certificate Transparency hashing).
//!
//! A receipt names its signing key inside itself ([`SignedBy`]), so the signature — a raw
//! Ed25519 signature over the receipt's exact bytes, stored beside it — covers the key's name
//! too. A log entry is the receipt's key and the SHA-256s of the receipt's and the signature's
//! bytes; its leaf is the SHA-256 of [`LogEntry::leaf_bytes`] (the entry's *digest*, 32 bytes,
//! which names its object), hashed as RFC 6962 prescribes (SHA-256 of 0x00 and the leaf).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The algorithm every signature of this version uses.
pub const ED25519: &str = "ed25519";

/// The key a receipt (or a tree head) was signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBy {
    /// The first 8 bytes of the SHA-256 of the raw public key, in hex: the public key is
    /// published as `keys/<key id>.pem`.
    pub key_id: String,
    pub algorithm: String,
}

/// One entry of the transparency log, as stored at `log/entries/<index>-<digest>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub index: u64,
    /// The receipt's object key.
    pub receipt_key: String,
    /// SHA-256 of the receipt's exact bytes, and of its signature's.
    pub receipt_sha256: String,
    pub signature_sha256: String,
}

impl LogEntry {
    /// The bytes whose SHA-256 (the entry's digest) is the log's leaf.
    pub fn leaf_bytes(receipt_key: &str, receipt_sha256: &str, signature_sha256: &str) -> Vec<u8> {
        format!("caravan-log-entry-v1\n{receipt_key}\n{receipt_sha256}\n{signature_sha256}\n")
            .into_bytes()
    }
}

/// What a worker asks the log's sequencer to append, once a signed receipt is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRequest {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub receipt_key: String,
    pub receipt_sha256: String,
    pub signature_sha256: String,
}

/// A signed tree head: the log's size and Merkle root at a moment, stored at
/// `log/tree-heads/<size>.json` with its signature beside it (`.sig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub size: u64,
    /// The RFC 6962 Merkle tree hash of the first `size` leaves, hex.
    pub root_hash: String,
    pub timestamp: DateTime<Utc>,
    pub signed_by: SignedBy,
}

/// Where a receipt is in the log: its leaf's index and the audit path to the root of the tree
/// head of `tree_size` (stored at `log/proofs/<sha256>/<profile>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub index: u64,
    pub tree_size: u64,
    /// Hex SHA-256 nodes, leaf to root.
    pub audit_path: Vec<String>,
}

/// That the tree of `to_size` extends the tree of `from_size` (RFC 6962 consistency proof),
/// stored at `log/consistency/<from>-<to>.json` for every pair of successive tree heads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    #[serde(default = "crate::current_version")]
    pub v: u32,
    pub from_size: u64,
    pub to_size: u64,
    pub path: Vec<String>,
}

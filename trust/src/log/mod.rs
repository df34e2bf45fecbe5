//! The transparency log, kept in the store: every signed receipt is an entry; the log's signed
//! tree heads, each receipt's inclusion proof and a consistency proof between successive tree
//! heads make deleting or rewriting an old receipt detectable, even by someone who kept only an
//! old tree head (RFC 6962 hashing; Certificate Transparency and Sigstore's Rekor are the
//! models).
//!
//! - [`merkle`]: the tree hash and proofs (`ct-merkle`);
//! - [`writer`]: the sequencer's side ([`LogWriter`]): append, publish tree heads and proofs;
//! - this module: what an entry's digest and object key are, shared with the verifier.
//!
//! Who appends: one sequencer at a time. In cluster mode every signing worker runs one, and
//! they consume a queue only one consumer of which is active (RabbitMQ's single active
//! consumer): the others wait, and take over with its unacknowledged requests when it dies.
//! Requests are idempotent (an entry already in the log is not appended again), so a request
//! redelivered after a crash leaves one entry. Before publishing a tree head, the sequencer
//! checks that the store holds exactly the entries it appended; if another process appended,
//! it refuses to publish and reloads.

pub mod merkle;
pub mod writer;

use caravan_proto::{keys, LogEntry};
use sha2::{Digest, Sha256};

pub use writer::{Appended, LogWriter};

/// The entry's digest: the SHA-256 of [`LogEntry::leaf_bytes`], the 32-byte leaf of the tree.
pub fn entry_digest(receipt_key: &str, receipt_sha256: &str, signature_sha256: &str) -> [u8; 32] {
    Sha256::digest(LogEntry::leaf_bytes(
        receipt_key,
        receipt_sha256,
        signature_sha256,
    ))
    .into()
}

/// The digest of a stored entry.
pub fn digest_of(entry: &LogEntry) -> [u8; 32] {
    entry_digest(
        &entry.receipt_key,
        &entry.receipt_sha256,
        &entry.signature_sha256,
    )
}

/// The index and digest (hex) an entry's object key names.
pub fn parse_entry_key(key: &str) -> Option<(u64, String)> {
    let name = key.strip_prefix(keys::LOG_ENTRIES)?.strip_suffix(".json")?;
    let (index, digest) = name.split_once('-')?;
    let valid = index.len() == 20
        && digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then(|| Some((index.parse().ok()?, digest.to_owned())))?
}

/// The size a tree head's object key names (`log/tree-heads/<size>.json`).
pub fn parse_tree_head_key(key: &str) -> Option<u64> {
    let name = key
        .strip_prefix(keys::LOG_TREE_HEADS)?
        .strip_suffix(".json")?;
    (name.len() == 20).then(|| name.parse().ok())?
}

#[cfg(test)]
mod tests;

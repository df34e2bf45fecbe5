//! `caravan-trust`: what makes a derivative verifiable by a third party, offline, without
//! trusting the bucket it came from.
//!
//! - [`keys`]: the Ed25519 signing key (receipts, tree heads) and its C2PA certificate chain;
//!   [`certs`]: the throw-away development CA `caravan keys generate` makes.
//! - [`credentials`]: C2PA content credentials embedded in public JPEG, WebP and MP4 outputs,
//!   and read back.
//! - [`signer`]: what a worker signs with ([`Signer`]): receipts, content credentials, the
//!   actions a derivative's manifest lists.
//! - [`log`]: the append-only transparency log in the store (RFC 6962 hashing, signed tree
//!   heads, inclusion and consistency proofs), appended to by one sequencer.
//! - [`verify`]: `caravan verify`: derivatives against receipts, receipts against signatures
//!   and the published key, manifests against receipts, receipts against the log.
//!
//! # Invariants
//! - A signature covers exact bytes: a receipt is signed as stored, never re-serialized.
//! - The private key never leaves [`keys::SigningKeys`]: it is not printed, logged, stored or
//!   sent; receipts, signatures and log entries hold only public data.
//! - The log is only appended to, by one sequencer at a time; a tree head is published only
//!   after the entries, proofs and consistency proof it covers are stored.
//! - Verification trusts nothing it reads from the store except through a signature by the
//!   key it was given (or the key published under the id the receipt names).

pub mod certs;
pub mod credentials;
mod error;
pub mod keys;
pub mod log;
pub mod signer;
pub mod verify;

pub use error::TrustError;
pub use keys::SigningKeys;
pub use signer::Signer;

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

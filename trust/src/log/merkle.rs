//! RFC 6962 Merkle tree hashing, inclusion and consistency proofs, with the `ct-merkle` crate:
//! leaf hash SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ left ‖ right), split at the largest
//! power of two below the size. Hashes travel as lowercase hex.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2_011::{Digest, Sha256};

/// A log's leaves, in order, with the tree over them.
#[derive(Debug, Default)]
pub struct Tree {
    tree: MemoryBackedTree<Sha256, Vec<u8>>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Vec<u8>) {
        self.tree.push(leaf);
    }

    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The tree hash of all the leaves so far.
    pub fn root(&self) -> String {
        hex::encode(self.tree.root().as_bytes())
    }

    /// The audit path of leaf `index` to the current root.
    pub fn inclusion(&self, index: u64) -> Vec<String> {
        split(self.tree.prove_inclusion(index as usize).as_bytes())
    }

    /// The proof that the current tree extends its first `old_size` leaves.
    pub fn consistency(&self, old_size: u64) -> Vec<String> {
        let additions = (self.len() - old_size) as usize;
        split(self.tree.prove_consistency(additions).as_bytes())
    }
}

/// The RFC 6962 leaf hash of `leaf`, hex.
pub fn leaf_hash(leaf: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(leaf);
    hex::encode(hasher.finalize())
}

/// Whether `path` proves `leaf` at `index` of the tree of `size` leaves with root `root`.
pub fn verify_inclusion(root: &str, size: u64, leaf: &[u8], index: u64, path: &[String]) -> bool {
    let (Some(root), Some(path)) = (digest(root), joined(path)) else {
        return false;
    };
    let root = RootHash::<Sha256>::new(root, size);
    match InclusionProof::<Sha256>::try_from_bytes(path) {
        Ok(proof) => root.verify_inclusion(&leaf, index, &proof).is_ok(),
        Err(_) => false,
    }
}

/// Whether `path` proves that the tree (`new_root`, `new_size`) extends (`old_root`,
/// `old_size`).
pub fn verify_consistency(
    (old_root, old_size): (&str, u64),
    (new_root, new_size): (&str, u64),
    path: &[String],
) -> bool {
    if old_size == new_size {
        return old_root == new_root && path.is_empty();
    }
    let (Some(old), Some(new), Some(path)) = (digest(old_root), digest(new_root), joined(path))
    else {
        return false;
    };
    let (old, new) = (
        RootHash::<Sha256>::new(old, old_size),
        RootHash::<Sha256>::new(new, new_size),
    );
    match ConsistencyProof::<Sha256>::try_from_bytes(path) {
        Ok(proof) => new.verify_consistency(&old, &proof).is_ok(),
        Err(_) => false,
    }
}

fn split(bytes: &[u8]) -> Vec<String> {
    bytes.chunks(32).map(hex::encode).collect()
}

fn digest(text: &str) -> Option<sha2_011::digest::Output<Sha256>> {
    let bytes = hex::decode(text).ok()?;
    (bytes.len() == 32).then(|| {
        let mut out = sha2_011::digest::Output::<Sha256>::default();
        out.copy_from_slice(&bytes);
        out
    })
}

fn joined(path: &[String]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(path.len() * 32);
    for node in path {
        let bytes = hex::decode(node).ok()?;
        if bytes.len() != 32 {
            return None;
        }
        out.extend(bytes);
    }
    Some(out)
}

#[cfg(test)]
mod tests;

//! The sequencer's side of the log: loads the entries in the store, appends requests (once
//! each), and publishes a signed tree head with the proofs it covers.

use std::collections::HashSet;
use std::sync::Arc;

use caravan_proto::{keys, ConsistencyProof, InclusionProof, LogEntry, LogRequest, TreeHead};
use caravan_store::Store;
use chrono::Utc;

use super::merkle::Tree;
use super::{digest_of, entry_digest, parse_entry_key, parse_tree_head_key};
use crate::error::TrustError;
use crate::keys::SigningKeys;

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// A new entry at this index.
    New(u64),
    /// The same receipt and signature are in the log already (a redelivered request).
    Duplicate,
}

/// The log as its one sequencer sees it.
#[derive(Debug)]
pub struct LogWriter {
    store: Store,
    keys: Arc<SigningKeys>,
    tree: Tree,
    /// Entry object keys, by index.
    entries: Vec<String>,
    digests: HashSet<String>,
    /// The size of the latest published tree head.
    published: u64,
    /// Entries not yet covered by a tree head: their index and receipt key.
    pending: Vec<(u64, String)>,
}

impl LogWriter {
    /// Loads the log: the entries' digests from their object keys, the latest tree head, and
    /// the receipts of entries appended since it (a sequencer died before publishing).
    pub async fn open(store: Store, keys: Arc<SigningKeys>) -> Result<Self, TrustError> {
        let entries = load_entry_keys(&store).await?;
        let mut tree = Tree::new();
        let mut digests = HashSet::with_capacity(entries.len());
        for key in &entries {
            let (_, digest) = parse_entry_key(key).expect("checked by load_entry_keys");
            tree.push(hex::decode(&digest).expect("checked by parse_entry_key"));
            digests.insert(digest);
        }
        let published = store
            .list(keys::LOG_TREE_HEADS)
            .await?
            .iter()
            .filter_map(|(key, _)| parse_tree_head_key(key))
            .max()
            .unwrap_or(0);
        if published > tree.len() {
            return Err(TrustError::Log(format!(
                "a tree head covers {published} entries but the store holds {}: entries were deleted; restore log/entries/ from a backup before appending",
                tree.len()
            )));
        }
        let mut pending = Vec::new();
        for (index, key) in entries.iter().enumerate().skip(published as usize) {
            let entry = read_entry(&store, key).await?;
            pending.push((index as u64, entry.receipt_key));
        }
        Ok(Self {
            store,
            keys,
            tree,
            entries,
            digests,
            published,
            pending,
        })
    }

    /// Entries in the log.
    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Entries no published tree head covers yet.
    pub fn unpublished(&self) -> u64 {
        self.tree.len() - self.published
    }

    /// Appends the receipt of `request`, unless the log holds it already.
    pub async fn append(&mut self, request: &LogRequest) -> Result<Appended, TrustError> {
        let digest = entry_digest(
            &request.receipt_key,
            &request.receipt_sha256,
            &request.signature_sha256,
        );
        let digest_hex = hex::encode(digest);
        if self.digests.contains(&digest_hex) {
            return Ok(Appended::Duplicate);
        }
        let index = self.tree.len();
        let entry = LogEntry {
            v: caravan_proto::PROTO_VERSION,
            index,
            receipt_key: request.receipt_key.clone(),
            receipt_sha256: request.receipt_sha256.clone(),
            signature_sha256: request.signature_sha256.clone(),
        };
        debug_assert_eq!(digest_of(&entry), digest);
        // A view loaded before another sequencer appended would write a second entry at an
        // index already taken, forking the log: refuse, so that the caller reloads.
        let taken = self
            .store
            .list(&keys::log_entry_index_prefix(index))
            .await?;
        if let Some((other, _)) = taken.first() {
            return Err(TrustError::Log(format!(
                "{other} was appended by another sequencer after this one loaded the log; reloading it"
            )));
        }
        let key = keys::log_entry(index, &digest_hex);
        let body = serde_json::to_vec_pretty(&entry).expect("entries serialize");
        self.store.put_bytes(&key, body, "application/json").await?;
        self.tree.push(digest.to_vec());
        self.entries.push(key);
        self.digests.insert(digest_hex);
        self.pending.push((index, request.receipt_key.clone()));
        Ok(Appended::New(index))
    }

    /// Publishes a signed tree head over every entry, after the inclusion proofs of the entries
    /// it newly covers and the consistency proof from the previous head; `None` when no entry
    /// was appended since the last one.
    pub async fn publish(&mut self) -> Result<Option<TreeHead>, TrustError> {
        let size = self.tree.len();
        if size == self.published {
            return Ok(None);
        }
        let stored = load_entry_keys(&self.store).await?;
        if stored != self.entries {
            return Err(TrustError::Log(format!(
                "the store holds {} entries where this sequencer appended {size}: another process appended to the log; reloading it (if this repeats, make sure only caravan workers write below log/)",
                stored.len()
            )));
        }
        for (index, receipt_key) in &self.pending {
            let Some(key) = keys::inclusion_proof_of_receipt(receipt_key) else {
                continue;
            };
            let proof = InclusionProof {
                v: caravan_proto::PROTO_VERSION,
                index: *index,
                tree_size: size,
                audit_path: self.tree.inclusion(*index),
            };
            let body = serde_json::to_vec_pretty(&proof).expect("proofs serialize");
            self.store.put_bytes(&key, body, "application/json").await?;
        }
        if self.published > 0 {
            let proof = ConsistencyProof {
                v: caravan_proto::PROTO_VERSION,
                from_size: self.published,
                to_size: size,
                path: self.tree.consistency(self.published),
            };
            let body = serde_json::to_vec_pretty(&proof).expect("proofs serialize");
            self.store
                .put_bytes(
                    &keys::consistency_proof(self.published, size),
                    body,
                    "application/json",
                )
                .await?;
        }
        let head = TreeHead {
            v: caravan_proto::PROTO_VERSION,
            size,
            root_hash: self.tree.root(),
            timestamp: Utc::now(),
            signed_by: self.keys.signed_by(),
        };
        let body = serde_json::to_vec_pretty(&head).expect("tree heads serialize");
        let signature = self.keys.sign(&body).to_vec();
        // The signature first: a tree head is visible only with its signature beside it.
        self.store
            .put_bytes(
                &keys::tree_head_signature(size),
                signature,
                "application/octet-stream",
            )
            .await?;
        self.store
            .put_bytes(&keys::tree_head(size), body, "application/json")
            .await?;
        self.published = size;
        self.pending.clear();
        Ok(Some(head))
    }
}

/// The entries' object keys in index order, checked: indexes 0, 1, 2 … each once.
pub(crate) async fn load_entry_keys(store: &Store) -> Result<Vec<String>, TrustError> {
    let mut entries: Vec<(u64, String)> = Vec::new();
    for (key, _) in store.list(keys::LOG_ENTRIES).await? {
        match parse_entry_key(&key) {
            Some((index, _)) => entries.push((index, key)),
            None => {
                return Err(TrustError::Log(format!(
                    "{key} is not a log entry's name; remove it (only caravan writes below log/entries/)"
                )))
            }
        }
    }
    entries.sort();
    for (expected, (index, key)) in entries.iter().enumerate() {
        if *index != expected as u64 {
            let what = if *index < expected as u64 {
                "a second entry at the same index: the log forked"
            } else {
                "an entry is missing before it"
            };
            return Err(TrustError::Log(format!(
                "{key}: {what}; stop the sequencers and restore log/entries/ from a backup"
            )));
        }
    }
    Ok(entries.into_iter().map(|(_, key)| key).collect())
}

async fn read_entry(store: &Store, key: &str) -> Result<LogEntry, TrustError> {
    let bytes = store
        .get_bytes(key)
        .await?
        .ok_or_else(|| TrustError::Log(format!("{key} vanished while the log was loaded")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| TrustError::Log(format!("{key} is not a log entry ({e})")))
}

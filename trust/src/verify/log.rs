//! Checking the transparency log: every tree head's signature, the consistency of successive
//! heads, and — when the whole store is verified — every entry against its name, the roots
//! recomputed from the entries, and every logged receipt still being there.

use std::collections::{BTreeMap, HashSet};

use caravan_proto::{keys, ConsistencyProof, LogEntry, TreeHead};
use caravan_store::Store;

use super::keyring::Keyring;
use super::report::Line;
use crate::keys::verify as verify_signature;
use crate::log::merkle::{self, Tree};
use crate::log::{digest_of, parse_entry_key, parse_tree_head_key};

/// The log as the verifier found it.
#[derive(Debug, Default)]
pub struct LogView {
    /// Entry object keys by index (only well-formed names).
    pub entries: BTreeMap<u64, Vec<String>>,
    /// Tree heads whose signature verified, by size.
    pub heads: BTreeMap<u64, TreeHead>,
    /// Sizes of tree heads that failed their checks.
    pub bad_heads: HashSet<u64>,
}

impl LogView {
    /// The latest good tree head.
    pub fn latest(&self) -> Option<&TreeHead> {
        self.heads.values().next_back()
    }

    /// Whether the log holds `key` as the entry at `index`.
    pub fn has_entry(&self, index: u64, key: &str) -> bool {
        self.entries
            .get(&index)
            .is_some_and(|keys| keys.iter().any(|k| k == key))
    }
}

/// Loads and checks the log. With `whole`, every entry is read and checked, roots are
/// recomputed from the entries, and `receipts` (every receipt key in the store) must hold every
/// logged receipt. `kept`: a tree head the verifier kept from earlier, which the log must
/// still extend.
pub async fn check(
    store: &Store,
    keyring: &mut Keyring,
    whole: bool,
    receipts: &HashSet<String>,
    kept: Option<&KeptHead>,
    lines: &mut Vec<Line>,
) -> LogView {
    let mut view = LogView::default();
    let listed = match store.list("log/").await {
        Ok(listed) => listed,
        Err(e) => {
            lines.push(Line::failed("log/", format!("cannot list the log: {e}")));
            return view;
        }
    };
    for (key, _) in &listed {
        if key.starts_with(keys::LOG_ENTRIES) {
            match parse_entry_key(key) {
                Some((index, _)) => view.entries.entry(index).or_default().push(key.clone()),
                None => lines.push(Line::failed(
                    key.clone(),
                    "not a log entry's name: something other than caravan wrote below log/entries/",
                )),
            }
        }
    }
    check_entry_indexes(&view, lines);

    let mut head_sizes: Vec<u64> = listed
        .iter()
        .filter_map(|(key, _)| parse_tree_head_key(key))
        .collect();
    head_sizes.sort_unstable();
    for size in head_sizes {
        let object = keys::tree_head(size);
        match check_head(store, keyring, size).await {
            Ok(head) => {
                view.heads.insert(size, head);
            }
            Err(problem) => {
                view.bad_heads.insert(size);
                lines.push(Line::failed(object, problem));
            }
        }
    }
    check_consistency(store, &view, lines).await;

    let mut digests: Vec<Option<Vec<u8>>> = Vec::new();
    if whole {
        digests = check_entries(store, &view, receipts, lines).await;
        check_roots(&view, &digests, lines);
    }
    if let Some(kept) = kept {
        check_kept(kept, keyring, &view, whole.then_some(&digests[..]), lines).await;
    }
    let entries = view.entries.len();
    let summary = match view.latest() {
        Some(head) => format!(
            "log: {entries} entries, {} tree heads, latest covers {}",
            view.heads.len(),
            head.size
        ),
        None => format!("log: {entries} entries, no tree head"),
    };
    if view.heads.is_empty() && entries > 0 {
        lines.push(Line::failed(
            "log/tree-heads/",
            format!("{summary}: no signed tree head covers the entries; wait for the sequencer to publish one"),
        ));
    } else if whole && entries > 0 {
        lines.push(Line::ok(summary));
    }
    view
}

fn check_entry_indexes(view: &LogView, lines: &mut Vec<Line>) {
    let mut expected = 0;
    for (index, keys) in &view.entries {
        if *index != expected {
            lines.push(Line::failed(
                keys[0].clone(),
                format!(
                    "entries {expected}…{} are missing: the log was cut",
                    index - 1
                ),
            ));
        }
        if keys.len() > 1 {
            lines.push(Line::failed(
                keys[1].clone(),
                format!("a second entry at index {index}: the log forked"),
            ));
        }
        expected = index + 1;
    }
}

async fn check_head(store: &Store, keyring: &mut Keyring, size: u64) -> Result<TreeHead, String> {
    let body = store
        .get_bytes(&keys::tree_head(size))
        .await
        .map_err(|e| format!("cannot read: {e}"))?
        .ok_or("vanished while verifying")?;
    let signature = store
        .get_bytes(&keys::tree_head_signature(size))
        .await
        .map_err(|e| format!("cannot read its signature: {e}"))?
        .ok_or("its signature (.sig) is missing")?;
    let head = signed_head(&body, &signature, keyring).await?;
    if head.size != size {
        return Err(format!(
            "says it covers {} entries but is stored as the head of {size}",
            head.size
        ));
    }
    Ok(head)
}

/// A tree head whose signature verifies.
async fn signed_head(
    body: &[u8],
    signature: &[u8],
    keyring: &mut Keyring,
) -> Result<TreeHead, String> {
    let head: TreeHead = serde_json::from_slice(body)
        .map_err(|e| format!("not a tree head ({e}): it was changed"))?;
    let key = keyring.get(&head.signed_by.key_id).await?;
    if !verify_signature(&key, body, signature) {
        return Err(format!(
            "its signature does not verify with key {}: the tree head or its signature was changed",
            head.signed_by.key_id
        ));
    }
    Ok(head)
}

async fn check_consistency(store: &Store, view: &LogView, lines: &mut Vec<Line>) {
    let heads: Vec<&TreeHead> = view.heads.values().collect();
    for pair in heads.windows(2) {
        let (old, new) = (pair[0], pair[1]);
        let object = keys::consistency_proof(old.size, new.size);
        let proof = match store.get_bytes(&object).await {
            Ok(Some(bytes)) => serde_json::from_slice::<ConsistencyProof>(&bytes)
                .map_err(|e| format!("not a consistency proof ({e}): it was changed")),
            Ok(None) => Err(format!(
                "missing: nothing proves that tree head {} extends tree head {}",
                new.size, old.size
            )),
            Err(e) => Err(format!("cannot read: {e}")),
        };
        let verified = proof.and_then(|p| {
            let extends = p.from_size == old.size
                && p.to_size == new.size
                && merkle::verify_consistency(
                    (&old.root_hash, old.size),
                    (&new.root_hash, new.size),
                    &p.path,
                );
            if extends {
                Ok(())
            } else {
                Err(format!(
                    "tree head {} does not extend tree head {}: the log was rewritten between them",
                    new.size, old.size
                ))
            }
        });
        if let Err(problem) = verified {
            lines.push(Line::failed(object, problem));
        }
    }
}

/// Reads every entry; checks it against its name and that its receipt is still in the store.
/// Returns the entries' digests by index (`None` where an entry is bad).
async fn check_entries(
    store: &Store,
    view: &LogView,
    receipts: &HashSet<String>,
    lines: &mut Vec<Line>,
) -> Vec<Option<Vec<u8>>> {
    let size = view.entries.keys().next_back().map_or(0, |last| last + 1);
    let mut digests = vec![None; size as usize];
    for (index, keys) in &view.entries {
        let key = &keys[0];
        let (_, named) = parse_entry_key(key).expect("listed entries parse");
        let entry = match store.get_bytes(key).await {
            Ok(Some(bytes)) => serde_json::from_slice::<LogEntry>(&bytes)
                .map_err(|e| format!("not a log entry ({e}): it was changed")),
            Ok(None) => Err("vanished while verifying".to_owned()),
            Err(e) => Err(format!("cannot read: {e}")),
        };
        let entry = match entry {
            Ok(entry) => entry,
            Err(problem) => {
                lines.push(Line::failed(key.clone(), problem));
                continue;
            }
        };
        let digest = hex::encode(digest_of(&entry));
        if digest != named || entry.index != *index {
            lines.push(Line::failed(
                key.clone(),
                "its content does not match its name: the entry was changed after it was appended",
            ));
            continue;
        }
        if !receipts.contains(&entry.receipt_key) {
            lines.push(Line::failed(
                entry.receipt_key.clone(),
                format!("logged (entry {index}) but missing from the store: the receipt was deleted; restore it from a copy"),
            ));
        }
        digests[*index as usize] = Some(named.into_bytes());
    }
    digests
        .into_iter()
        .map(|d| d.and_then(|hex_digest| hex::decode(hex_digest).ok()))
        .collect()
}

/// Recomputes each tree head's root from the entries.
fn check_roots(view: &LogView, digests: &[Option<Vec<u8>>], lines: &mut Vec<Line>) {
    let mut tree = Tree::new();
    for head in view.heads.values() {
        if head.size as usize > digests.len() {
            lines.push(Line::failed(
                keys::tree_head(head.size),
                format!(
                    "covers {} entries, but the store holds {}: entries were deleted",
                    head.size,
                    digests.len()
                ),
            ));
            continue;
        }
        let mut complete = true;
        while tree.len() < head.size {
            match &digests[tree.len() as usize] {
                Some(d) => tree.push(d.clone()),
                None => {
                    complete = false;
                    break;
                }
            }
        }
        if !complete {
            // The bad entry has its own line; roots past it cannot be recomputed.
            return;
        }
        if tree.root() != head.root_hash {
            lines.push(Line::failed(
                keys::tree_head(head.size),
                "its root differs from the root of the entries: the log was rewritten",
            ));
        }
    }
}

/// A tree head the verifier kept from earlier (`--tree-head <size>.json`, its `.sig` beside it).
#[derive(Debug, Clone)]
pub struct KeptHead {
    pub body: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Checks a tree head kept from earlier: signed by the key, and extended by today's log.
async fn check_kept(
    kept: &KeptHead,
    keyring: &mut Keyring,
    view: &LogView,
    digests: Option<&[Option<Vec<u8>>]>,
    lines: &mut Vec<Line>,
) {
    let object = "--tree-head";
    let head = match signed_head(&kept.body, &kept.signature, keyring).await {
        Ok(head) => head,
        Err(problem) => {
            lines.push(Line::failed(object, problem));
            return;
        }
    };
    let object = format!("kept tree head of {} entries", head.size);
    if let Some(published) = view.heads.get(&head.size) {
        if published.root_hash != head.root_hash {
            lines.push(Line::failed(object, "the log's tree head of that size has another root: the log was rewritten since you kept it"));
            return;
        }
    }
    let Some(digests) = digests else {
        if view.heads.contains_key(&head.size) {
            lines.push(Line::ok(object));
        } else {
            lines.push(Line::failed(object, "no tree head of that size is published; verify the whole store to recompute it from the entries"));
        }
        return;
    };
    if head.size as usize > digests.len() {
        lines.push(Line::failed(
            object,
            format!(
                "covers {} entries but the log holds {}: entries were deleted since you kept it",
                head.size,
                digests.len()
            ),
        ));
        return;
    }
    let mut tree = Tree::new();
    for digest in &digests[..head.size as usize] {
        match digest {
            Some(d) => tree.push(d.clone()),
            None => {
                lines.push(Line::failed(object, "an entry it covers is damaged"));
                return;
            }
        }
    }
    if tree.root() == head.root_hash {
        lines.push(Line::ok(object));
    } else {
        lines.push(Line::failed(
            object,
            "the log's first entries no longer give its root: old receipts were deleted or rewritten since you kept it",
        ));
    }
}

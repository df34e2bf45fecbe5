//! `caravan verify`: checks what a store (an output folder, a bucket, a prefix of it) holds
//! against its receipts, signatures, content credentials and transparency log, and says, one
//! line per object, what is wrong and what to do.
//!
//! - [`target`]: what a path names (the whole store, a prefix, one receipt or derivative);
//! - `keyring`: the keys signatures are checked against;
//! - `receipt`: one receipt, its signature, its inclusion in the log, its outputs;
//! - `log`: the tree heads, their consistency, the entries;
//! - [`report`]: the lines, the summary, JSON.

mod keyring;
mod log;
mod receipt;
pub mod report;
pub mod target;

use std::collections::{BTreeSet, HashSet};

use caravan_proto::keys;
use caravan_store::Store;
use ed25519_dalek::VerifyingKey;

pub use log::KeptHead;
pub use report::{Line, Report, Status, Summary};
pub use target::Scope;

use crate::keys::key_id;

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The public key signatures must verify with (a key the verifier trusts). Without it, the
    /// key published in the store under the id a receipt names is used, and the report says so.
    pub key: Option<VerifyingKey>,
    /// A tree head kept from an earlier verification, which the log must still extend.
    pub kept_head: Option<KeptHead>,
}

/// Verifies `scope` of `store`.
pub async fn verify(store: &Store, scope: &Scope, root: &str, options: &Options) -> Report {
    let mut report = Report {
        root: root.to_owned(),
        ..Default::default()
    };
    let mut keyring = keyring::Keyring::new(store.clone(), options.key);
    let scratch = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            report.push(Line::failed(
                root,
                format!("cannot make a scratch folder: {e}"),
            ));
            report.finish();
            return report;
        }
    };

    let prefix = match scope {
        Scope::All => "",
        Scope::Prefix(prefix) => prefix.as_str(),
        Scope::Object(_) => "",
    };
    // Receipts to check, and for a derivative named alone, which one.
    let mut receipts = BTreeSet::new();
    let mut only = None;
    let mut all_receipts = HashSet::new();
    let mut strays = Vec::new();
    match scope {
        Scope::Object(key) => {
            if let Some(receipt_key) = receipt_of(key) {
                if keys::parse_derivative(key).is_some() {
                    only = Some(key.clone());
                }
                receipts.insert(receipt_key);
            } else {
                report.push(Line::failed(
                    key.clone(),
                    "not a derivative, a receipt or its signature: nothing to verify it against",
                ));
            }
        }
        Scope::All | Scope::Prefix(_) => match store.list(prefix).await {
            Ok(listed) => {
                let mut derivatives = Vec::new();
                for (key, _) in listed {
                    if keys::parse_receipt(&key).is_some() {
                        receipts.insert(key.clone());
                    } else if let Some(receipt_key) = receipt_of(&key) {
                        if keys::parse_derivative(&key).is_some() {
                            derivatives.push((key.clone(), receipt_key.clone()));
                        }
                        receipts.insert(receipt_key);
                    }
                }
                strays = derivatives;
            }
            Err(e) => report.push(Line::failed(root, format!("cannot list: {e}"))),
        },
    }
    let whole = matches!(scope, Scope::All);
    if whole {
        match store.list(keys::RECEIPTS).await {
            Ok(listed) => all_receipts.extend(
                listed
                    .into_iter()
                    .map(|(key, _)| key)
                    .filter(|key| keys::parse_receipt(key).is_some()),
            ),
            Err(e) => report.push(Line::failed(keys::RECEIPTS, format!("cannot list: {e}"))),
        }
    }
    let log = log::check(
        store,
        &mut keyring,
        whole,
        &all_receipts,
        options.kept_head.as_ref(),
        &mut report.lines,
    )
    .await;

    let mut listed_outputs = HashSet::new();
    for receipt_key in &receipts {
        let outputs = match &only {
            Some(key) => receipt::Outputs::Only(key),
            None => receipt::Outputs::All,
        };
        let before = report.lines.len();
        receipt::check(
            store,
            &mut keyring,
            &log,
            receipt_key,
            outputs,
            scratch.path(),
            &mut report.lines,
        )
        .await;
        for line in &report.lines[before..] {
            listed_outputs.insert(line.object.clone());
        }
    }
    // With a prefix of the store, the receipts' outputs outside it are not asked about.
    if let Scope::Prefix(prefix) = scope {
        report.lines.retain(|l| {
            l.object.starts_with(prefix.as_str())
                || keys::parse_receipt(&l.object).is_some()
                || l.status == Status::Failed
        });
    }
    for (key, receipt_key) in strays {
        if !listed_outputs.contains(&key) {
            report.push(Line::failed(
                key,
                format!("not listed in {receipt_key}: it is no output of that job (added, or its receipt replaced); delete it or process the master again"),
            ));
        }
    }
    match &options.key {
        Some(key) => report.notes.push(format!(
            "signatures checked against the key given (id {})",
            key_id(key)
        )),
        None => {
            let ids = keyring.fetched_ids();
            if !ids.is_empty() {
                report.notes.push(format!(
                    "signatures checked against the key published in the store itself ({}): pass the archive's public key with --key to check against a key you trust",
                    ids.iter().map(|id| keys::public_key(id)).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    if let Some(head) = log.latest() {
        report.notes.push(format!(
            "latest tree head: {} entries, root {} ({}): keep it to check later that the log still extends it (--tree-head)",
            head.size,
            head.root_hash,
            keys::tree_head(head.size)
        ));
    }
    report.finish();
    report
}

/// The receipt a derivative, a receipt or a receipt's signature belongs to.
fn receipt_of(key: &str) -> Option<String> {
    if let Some((asset, profile)) = keys::parse_derivative(key) {
        return Some(keys::receipt(&asset, &profile));
    }
    let receipt = key.strip_suffix(".sig").unwrap_or(key);
    keys::parse_receipt(receipt).map(|_| receipt.to_owned())
}

#[cfg(test)]
mod tests;

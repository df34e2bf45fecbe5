//! Checking one receipt: that it is where its asset and profile say, its signature against the
//! key, its place in the log under a signed tree head, and each output it lists against the
//! store (hash, size) and its content credentials (valid, bound to the file, same master,
//! rights and digital source type as the receipt).

use std::path::Path;

use caravan_proto::metadata::digital_source_type_uri;
use caravan_proto::{keys, InclusionProof, OutputRecord, Receipt};
use caravan_store::Store;

use super::keyring::Keyring;
use super::log::LogView;
use super::report::{Line, Status};
use crate::credentials::{self, master_instance_id};
use crate::keys::verify as verify_signature;
use crate::log::{entry_digest, merkle};
use crate::sha256_hex;

/// Which of a receipt's outputs to check.
#[derive(Debug, Clone, Copy)]
pub enum Outputs<'a> {
    All,
    /// Only the output stored at this key.
    Only(&'a str),
}

/// Checks the receipt at `receipt_key` and its outputs; one line for the receipt, one per
/// output checked.
pub async fn check(
    store: &Store,
    keyring: &mut Keyring,
    log: &LogView,
    receipt_key: &str,
    outputs: Outputs<'_>,
    scratch: &Path,
    lines: &mut Vec<Line>,
) {
    let bytes = match store.get_bytes(receipt_key).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            let problem = "missing: the outputs here have no receipt (it was deleted, or the job has not finished); restore it, or process the master again";
            lines.push(Line::failed(receipt_key, problem));
            return;
        }
        Err(e) => {
            lines.push(Line::failed(receipt_key, format!("cannot read: {e}")));
            return;
        }
    };
    let receipt: Receipt = match serde_json::from_slice(&bytes) {
        Ok(receipt) => receipt,
        Err(e) => {
            let problem = format!("not a receipt ({e}): it was changed; restore it from a copy");
            lines.push(Line::failed(receipt_key, problem));
            return;
        }
    };
    let mut problems = Vec::new();
    let stored_as = keys::receipt(&receipt.asset_id, &receipt.profile);
    if stored_as != receipt_key {
        problems.push(format!(
            "it is the receipt of {stored_as}, stored in another's place: receipts were swapped or moved"
        ));
    }
    let status = match &receipt.signed_by {
        None => Status::Unsigned,
        Some(signed_by) => {
            let signature = check_signature(store, keyring, receipt_key, &bytes, &signed_by.key_id)
                .await
                .map_err(|p| problems.push(p))
                .ok();
            if let Some(signature) = signature {
                if let Err(p) = check_logged(store, log, receipt_key, &bytes, &signature).await {
                    problems.push(p);
                }
            }
            Status::Ok
        }
    };
    let mut line = Line::from_problems(receipt_key, problems);
    if line.status == Status::Ok && status == Status::Unsigned {
        line.status = Status::Unsigned;
        line.problems.push("made without a signing key (before signing was configured): its outputs match it, but nothing proves who wrote it; process the master again with a key to sign it".into());
    }
    lines.push(line);

    for output in &receipt.outputs {
        if let Outputs::Only(key) = outputs {
            if output.key != key {
                continue;
            }
        }
        let problems = check_output(store, &receipt, output, scratch).await;
        lines.push(Line::from_problems(output.key.clone(), problems));
    }
}

/// The signature's bytes, if they verify.
async fn check_signature(
    store: &Store,
    keyring: &mut Keyring,
    receipt_key: &str,
    bytes: &[u8],
    key_id: &str,
) -> Result<Vec<u8>, String> {
    let key = keyring.get(key_id).await?;
    let object = format!("{receipt_key}.sig");
    let signature = match store.get_bytes(&object).await {
        Ok(Some(signature)) => signature,
        Ok(None) => return Err(format!("its signature {object} is missing; the worker that committed it restores it when the job is delivered again (submit the batch again)")),
        Err(e) => return Err(format!("cannot read {object}: {e}")),
    };
    if verify_signature(&key, bytes, &signature) {
        Ok(signature)
    } else {
        Err(format!("its signature does not verify with key {key_id}: the receipt or its signature ({object}) was changed after signing; restore both from a copy"))
    }
}

/// That the receipt, exactly, is an entry of the log under a signed tree head.
async fn check_logged(
    store: &Store,
    log: &LogView,
    receipt_key: &str,
    bytes: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let object = keys::inclusion_proof_of_receipt(receipt_key).ok_or("not a receipt's key")?;
    let proof: InclusionProof = match store.get_bytes(&object).await {
        Ok(Some(proof)) => serde_json::from_slice(&proof)
            .map_err(|e| format!("its inclusion proof {object} is not one ({e}): it was changed"))?,
        Ok(None) => return Err(format!("not in the transparency log yet ({object} is missing): wait for the sequencer's next tree head and verify again")),
        Err(e) => return Err(format!("cannot read {object}: {e}")),
    };
    let digest = entry_digest(receipt_key, &sha256_hex(bytes), &sha256_hex(signature));
    let entry = keys::log_entry(proof.index, &hex::encode(digest));
    if !log.has_entry(proof.index, &entry) {
        return Err(format!("the log's entry {} is not this receipt ({entry} is missing): the receipt or the log was changed", proof.index));
    }
    let Some(head) = log.heads.get(&proof.tree_size) else {
        return Err(format!(
            "its inclusion proof refers to a tree head of {} entries that is missing or damaged",
            proof.tree_size
        ));
    };
    if !merkle::verify_inclusion(
        &head.root_hash,
        head.size,
        &digest,
        proof.index,
        &proof.audit_path,
    ) {
        return Err(format!("its inclusion proof {object} does not verify against tree head {}: the proof or the log was changed", head.size));
    }
    Ok(())
}

/// What is wrong with one output, if anything.
async fn check_output(
    store: &Store,
    receipt: &Receipt,
    output: &OutputRecord,
    scratch: &Path,
) -> Vec<String> {
    let expected = keys::derivative(&receipt.asset_id, &receipt.profile, &output.name);
    if output.key != expected {
        return vec![format!(
            "the receipt places {} at {}, not under its asset: the receipt was changed",
            output.name, output.key
        )];
    }
    let copy = scratch.join("object");
    let got = match store.get_to_file(&output.key, &copy).await {
        Ok(got) => got,
        Err(caravan_store::StoreError::NotFound { .. }) => {
            return vec!["missing: listed in its receipt but not in the store; fetch it again, or process the master again".into()]
        }
        Err(e) => return vec![format!("cannot read: {e}")],
    };
    let mut problems = Vec::new();
    if got.sha256 != output.sha256 || got.size != output.size {
        problems.push("its SHA-256 differs from its receipt's: the file was changed or replaced; fetch it again from the archive".to_owned());
    } else if output.content_credentials {
        let copy = copy.clone();
        let media_type = output.media_type.clone();
        let read = tokio::task::spawn_blocking(move || credentials::read_file(&copy, &media_type))
            .await
            .unwrap_or_else(|e| Err(format!("the manifest reader crashed ({e})")));
        match read {
            Ok(found) => {
                for code in &found.problems {
                    problems.push(format!("its content credentials do not validate ({code})"));
                }
                let master = master_instance_id(receipt.asset_id.as_str());
                if found.master.as_deref() != Some(master.as_str()) {
                    problems.push(format!(
                        "its content credentials name another master ({}) than its receipt",
                        found.master.as_deref().unwrap_or("none")
                    ));
                }
                if found.rights != receipt.metadata.rights {
                    problems
                        .push("its content credentials state other rights than its receipt".into());
                }
                let source_type = receipt
                    .metadata
                    .digital_source_type
                    .as_deref()
                    .map(digital_source_type_uri);
                if found.digital_source_type != source_type {
                    problems.push(
                        "its content credentials give another digital source type than its receipt"
                            .into(),
                    );
                }
            }
            Err(e) => problems.push(format!(
                "its receipt says it carries content credentials, but {e}"
            )),
        }
    }
    let _ = tokio::fs::remove_file(&copy).await;
    problems
}

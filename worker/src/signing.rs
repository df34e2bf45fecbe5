//! Signing, when the worker has a key: content credentials embedded in a job's public outputs
//! before they are stored, the receipt's signature stored beside it after the commit, and the
//! receipt handed to the transparency log's sequencer. A receipt that exists without its
//! signature or log entry (the worker died between the steps) is completed when the job is
//! delivered again.

use std::path::Path;
use std::sync::Arc;

use caravan_media::PipelineOutput;
use caravan_proto::{keys, Job, LogRequest, Profile, Receipt};
use caravan_trust::credentials::Facts;
use caravan_trust::signer::{actions, wants_credentials};
use caravan_trust::{sha256_hex, Signer};
use tracing::{info, warn};

use crate::context::JobContext;
use crate::error::JobError;

/// What signing did to one output before it was stored.
#[derive(Debug, Clone, Default)]
pub struct Credentialed {
    /// SHA-256 of the output as the pipeline made it (before the manifest).
    pub content_sha256: Option<String>,
    pub content_credentials: bool,
}

/// Embeds content credentials in every output of `made` that gets them; one entry per output.
pub async fn credential_outputs(
    signer: &Arc<Signer>,
    job: &Job,
    profile: &Profile,
    made: &PipelineOutput,
    out_dir: &Path,
) -> Result<Vec<Credentialed>, JobError> {
    let mut done = Vec::with_capacity(made.outputs.len());
    for output in &made.outputs {
        if !wants_credentials(output.name.as_str(), &output.media_type) {
            done.push(Credentialed::default());
            continue;
        }
        let path = out_dir.join(output.name.as_str());
        let name = output.name.to_string();
        let media_type = output.media_type.clone();
        let actions = actions(
            job.kind,
            profile,
            &made.master_info,
            &name,
            (output.width, output.height),
        );
        let signer = signer.clone();
        let job = job.clone();
        let content_sha256 = tokio::task::spawn_blocking(move || {
            let unsigned =
                std::fs::read(&path).map_err(|e| caravan_trust::TrustError::Credentials {
                    output: name.clone(),
                    detail: e.to_string(),
                })?;
            let content_sha256 = sha256_hex(&unsigned);
            drop(unsigned);
            let facts = Facts {
                title: &name,
                media_type: &media_type,
                master_sha256: job.asset_id.as_str(),
                master_media_type: &job.media_type,
                actions: &actions,
                metadata: &job.metadata,
            };
            signer.embed(&path, &facts).map(|()| content_sha256)
        })
        .await
        .expect("embedding content credentials does not panic")
        .map_err(JobError::Signing)?;
        done.push(Credentialed {
            content_sha256: Some(content_sha256),
            content_credentials: true,
        });
    }
    Ok(done)
}

/// The receipt's bytes as they are stored and signed, and the signature (with a key).
pub fn seal(ctx: &JobContext, receipt: &mut Receipt) -> (Vec<u8>, Option<Vec<u8>>) {
    let signer = ctx.config.signer.as_ref();
    receipt.signed_by = signer.map(|s| s.keys().signed_by());
    let body = serde_json::to_vec_pretty(receipt).expect("receipts serialize");
    let signature = signer.map(|s| s.keys().sign(&body).to_vec());
    (body, signature)
}

/// After the commit: stores the signature beside the receipt and asks for a log entry.
pub async fn after_commit(
    ctx: &JobContext,
    receipt_key: &str,
    body: &[u8],
    signature: &[u8],
) -> Result<(), JobError> {
    ctx.store
        .put_bytes(
            &format!("{receipt_key}.sig"),
            signature.to_vec(),
            "application/octet-stream",
        )
        .await?;
    request_log_entry(ctx, receipt_key, body, signature).await
}

/// For a receipt that exists already (a redelivery, a duplicate): if this worker's key signed
/// it, makes sure its signature is stored and that the log has it (the sequencer ignores a
/// request for an entry it holds).
pub async fn complete(ctx: &JobContext, receipt_key: &str) -> Result<(), JobError> {
    let Some(signer) = &ctx.config.signer else {
        return Ok(());
    };
    let Some(body) = ctx.store.get_bytes(receipt_key).await? else {
        return Ok(());
    };
    let receipt: Receipt = match serde_json::from_slice(&body) {
        Ok(receipt) => receipt,
        Err(e) => {
            warn!(error = %e, receipt_key, "The stored receipt does not parse; `caravan verify` reports it");
            return Ok(());
        }
    };
    let Some(signed_by) = receipt.signed_by else {
        return Ok(());
    };
    if signed_by.key_id != signer.keys().key_id() {
        warn!(receipt_key, key_id = %signed_by.key_id, "The receipt names another signing key; only a worker with that key can complete it");
        return Ok(());
    }
    let signature_key = format!("{receipt_key}.sig");
    let signature = match ctx.store.get_bytes(&signature_key).await? {
        Some(signature) => signature,
        None => {
            info!(
                receipt_key,
                "Restoring the receipt's signature (its worker died after the commit)"
            );
            let signature = signer.keys().sign(&body).to_vec();
            ctx.store
                .put_bytes(
                    &signature_key,
                    signature.clone(),
                    "application/octet-stream",
                )
                .await?;
            signature
        }
    };
    request_log_entry(ctx, receipt_key, &body, &signature).await
}

async fn request_log_entry(
    ctx: &JobContext,
    receipt_key: &str,
    body: &[u8],
    signature: &[u8],
) -> Result<(), JobError> {
    let request = LogRequest {
        v: caravan_proto::PROTO_VERSION,
        receipt_key: receipt_key.to_owned(),
        receipt_sha256: sha256_hex(body),
        signature_sha256: sha256_hex(signature),
    };
    ctx.queue.publish_log_request(&request).await?;
    Ok(())
}

/// Publishes the public key as `keys/<key id>.pub`, so a verifier holding only a receipt can
/// fetch it (and one holding the key can compare).
pub async fn publish_public_key(
    store: &caravan_store::Store,
    signer: &Signer,
) -> Result<(), caravan_store::StoreError> {
    let key = keys::public_key(signer.keys().key_id());
    store
        .put_bytes_if_absent(
            &key,
            signer.keys().public_pem().as_bytes().to_vec(),
            "application/x-pem-file",
        )
        .await
        .map(|_| ())
}

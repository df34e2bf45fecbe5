//! The trust commands: `caravan keys generate`, loading a worker's signing key, and `caravan
//! verify`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use caravan_store::{LocalStore, Store};
use caravan_trust::verify::{self, KeptHead, Options, Scope};
use caravan_trust::{keys, Signer};

use crate::cli::{SigningArgs, VerifyArgs};

/// `caravan keys generate <dir>`.
pub fn generate(dir: &Path) -> anyhow::Result<ExitCode> {
    let made = keys::generate(dir)?;
    println!("Signing key {} written to {}:", made.key_id, dir.display());
    for file in &made.files {
        println!("  {}", file.display());
    }
    println!(
        "The C2PA certificate is issued by a throw-away development CA ({}): verifiers report it as untrusted. For production, sign the key's certificate with your organisation's CA and point CARAVAN_C2PA_CERT_FILE at the chain.",
        keys::C2PA_CA_FILE
    );
    println!(
        "Keep {} secret (a Kubernetes secret, mounted as a file); publish {}.",
        keys::SIGNING_KEY_FILE,
        keys::PUBLIC_KEY_FILE
    );
    Ok(ExitCode::SUCCESS)
}

/// The signer the arguments name, if any. A named key that cannot be loaded is an error here,
/// at start-up, not in every job.
pub fn signer(args: &SigningArgs) -> anyhow::Result<Option<Arc<Signer>>> {
    let signer = match (&args.signing_dir, &args.signing_key_file, &args.c2pa_cert_file) {
        (Some(dir), None, None) => Signer::load_dir(dir)?,
        (None, Some(key), Some(chain)) => Signer::load(key, chain)?,
        (None, None, None) => return Ok(None),
        (Some(_), _, _) => anyhow::bail!(
            "give either --signing-dir or CARAVAN_SIGNING_KEY_FILE and CARAVAN_C2PA_CERT_FILE, not both"
        ),
        (None, _, _) => anyhow::bail!(
            "CARAVAN_SIGNING_KEY_FILE and CARAVAN_C2PA_CERT_FILE go together: set both (the key, and the certificate chain for content credentials), or neither"
        ),
    };
    Ok(Some(Arc::new(signer)))
}

/// `caravan verify`; `s3`: the configured S3 store, for an `s3://` path.
pub async fn verify(args: &VerifyArgs, s3: Option<Store>) -> anyhow::Result<ExitCode> {
    let mut options = Options::default();
    if let Some(path) = &args.key {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the public key {}", path.display()))?;
        options.key = Some(keys::public_key_from_pem(&pem)?);
    }
    if let Some(path) = &args.tree_head {
        let signature_path = format!("{}.sig", path.display());
        options.kept_head = Some(KeptHead {
            body: std::fs::read(path)
                .with_context(|| format!("cannot read the tree head {}", path.display()))?,
            signature: std::fs::read(&signature_path).with_context(|| {
                format!("cannot read the tree head's signature {signature_path}")
            })?,
        });
    }
    let (store, scope, root) = match args.path.strip_prefix("s3://") {
        Some(rest) => {
            let store = s3.context("an s3:// path needs the S3 store")?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            match &store {
                Store::S3(s3) if s3.bucket() == bucket => {}
                _ => anyhow::bail!(
                    "{} is not in the configured bucket; set CARAVAN_S3_BUCKET={bucket} (and the endpoint and keys)",
                    args.path
                ),
            }
            (store, verify::target::of_prefix(prefix), args.path.clone())
        }
        None => {
            let (root, scope) =
                verify::target::resolve_local(Path::new(&args.path)).map_err(anyhow::Error::msg)?;
            let shown = match &scope {
                Scope::All => root.display().to_string(),
                _ => args.path.clone(),
            };
            (Store::Local(LocalStore::new(root)), scope, shown)
        }
    };
    let report = verify::verify(&store, &scope, &root, &options).await;
    if args.output.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        );
    } else {
        for line in &report.lines {
            println!("{line}");
        }
        for note in &report.notes {
            println!("note: {note}");
        }
        println!("{}", report.summary_line());
    }
    Ok(if report.passed(args.require_signed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

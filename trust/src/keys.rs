//! Signing keys: one Ed25519 key signs receipts and tree heads (raw signatures over exact
//! bytes, which `openssl pkeyutl -verify -rawin` checks) and, through an X.509 certificate
//! chain, the C2PA manifests embedded in derivatives.
//!
//! On disk (`caravan keys generate <dir>`, or Kubernetes secrets mounted as files):
//!
//! ```text
//! signing.key       the private key, PKCS#8 PEM (mode 0600)
//! signing.pem       its public key, SubjectPublicKeyInfo PEM (published as keys/<key id>.pem)
//! key-id            the key id: the first 8 bytes of the SHA-256 of the raw public key, hex
//! c2pa-chain.pem    the certificate of the key, then the CA that issued it
//! c2pa-ca.pem       the (throw-away, development) CA alone, for verifiers to trust
//! ```
//!
//! Keys are loaded when a process starts and held in a type that never prints them.

use std::path::{Path, PathBuf};

use caravan_proto::trust::ED25519;
use caravan_proto::SignedBy;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::TrustError;

pub const SIGNING_KEY_FILE: &str = "signing.key";
pub const PUBLIC_KEY_FILE: &str = "signing.pem";
pub const KEY_ID_FILE: &str = "key-id";
pub const C2PA_CHAIN_FILE: &str = "c2pa-chain.pem";
pub const C2PA_CA_FILE: &str = "c2pa-ca.pem";

/// The signing key and what goes with it. Never printed: `Debug` shows the key id only.
pub struct SigningKeys {
    key_id: String,
    secret: SigningKey,
    /// PKCS#8 PEM of `secret`, as the C2PA signer takes it.
    secret_pem: String,
    public_pem: String,
    c2pa_chain: Vec<u8>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Loads the key and the certificate chain from the files `caravan keys generate` writes in
    /// `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, TrustError> {
        Self::load(&dir.join(SIGNING_KEY_FILE), &dir.join(C2PA_CHAIN_FILE))
    }

    /// Loads the private key (PKCS#8 PEM, Ed25519) and the C2PA certificate chain (PEM, the
    /// key's certificate first).
    pub fn load(key_file: &Path, chain_file: &Path) -> Result<Self, TrustError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| TrustError::KeyFile {
                path: path.to_owned(),
                detail: e.to_string(),
            })
        };
        let pem = String::from_utf8(read(key_file)?).map_err(|_| TrustError::KeyFile {
            path: key_file.to_owned(),
            detail: "not a PEM file".into(),
        })?;
        let secret = SigningKey::from_pkcs8_pem(&pem).map_err(|e| TrustError::KeyFile {
            path: key_file.to_owned(),
            detail: format!("not an Ed25519 private key in PKCS#8 PEM ({e})"),
        })?;
        let c2pa_chain = read(chain_file)?;
        Self::new(secret, c2pa_chain)
    }

    fn new(secret: SigningKey, c2pa_chain: Vec<u8>) -> Result<Self, TrustError> {
        let verifying = secret.verifying_key();
        let public_pem = verifying
            .to_public_key_pem(Default::default())
            .map_err(|e| TrustError::Certificate(e.to_string()))?;
        let secret_pem = secret
            .to_pkcs8_pem(Default::default())
            .map_err(|e| TrustError::Certificate(e.to_string()))?
            .to_string();
        Ok(Self {
            key_id: key_id(&verifying),
            secret,
            secret_pem,
            public_pem,
            c2pa_chain,
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key as SubjectPublicKeyInfo PEM (what `keys/<key id>.pem` holds).
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// How a receipt or tree head names this key.
    pub fn signed_by(&self) -> SignedBy {
        SignedBy {
            key_id: self.key_id.clone(),
            algorithm: ED25519.to_owned(),
        }
    }

    /// The raw Ed25519 signature of `bytes`, exactly as given.
    pub fn sign(&self, bytes: &[u8]) -> [u8; 64] {
        self.secret.sign(bytes).to_bytes()
    }

    /// A C2PA signer of this key and its certificate chain.
    pub fn c2pa_signer(&self) -> Result<c2pa::BoxedSigner, TrustError> {
        c2pa::create_signer::from_keys(
            &self.c2pa_chain,
            self.secret_pem.as_bytes(),
            c2pa::SigningAlg::Ed25519,
            None,
        )
        .map_err(|e| TrustError::Certificate(format!("the C2PA certificate chain: {e}")))
    }
}

/// The key id of `key`: the first 8 bytes of the SHA-256 of its 32 raw bytes, hex.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// A public key from SubjectPublicKeyInfo PEM.
pub fn public_key_from_pem(pem: &str) -> Result<VerifyingKey, TrustError> {
    VerifyingKey::from_public_key_pem(pem)
        .map_err(|e| TrustError::Certificate(format!("not an Ed25519 public key in PEM ({e})")))
}

/// Whether `signature` is `key`'s Ed25519 signature of exactly `bytes`.
pub fn verify(key: &VerifyingKey, bytes: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify(bytes, &signature).is_ok()
}

/// What `caravan keys generate` wrote.
#[derive(Debug)]
pub struct Generated {
    pub key_id: String,
    pub files: Vec<PathBuf>,
}

/// Writes a new signing key, its public key and key id, and — for development and tests only
/// — a throw-away C2PA CA and a certificate of the key signed by it, into `dir`. Refuses to
/// overwrite an existing key.
pub fn generate(dir: &Path) -> Result<Generated, TrustError> {
    let io = |path: &Path, e: std::io::Error| TrustError::KeyFile {
        path: path.to_owned(),
        detail: e.to_string(),
    };
    let key_path = dir.join(SIGNING_KEY_FILE);
    if key_path.exists() {
        return Err(TrustError::KeyFile {
            path: key_path,
            detail: "a signing key is already there; keep it, or remove it to make a new one (receipts it signed keep its public key)".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| TrustError::Certificate(e.to_string()))?;
    let secret = SigningKey::from_bytes(&seed);
    let (chain, ca) = crate::certs::test_chain(&secret)?;
    let keys = SigningKeys::new(secret, chain.clone().into_bytes())?;

    let mut files = Vec::new();
    let mut write = |name: &str, body: &[u8], private: bool| -> Result<(), TrustError> {
        let path = dir.join(name);
        std::fs::write(&path, body).map_err(|e| io(&path, e))?;
        if private {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(&path, e))?;
        }
        files.push(path);
        Ok(())
    };
    write(SIGNING_KEY_FILE, keys.secret_pem.as_bytes(), true)?;
    write(PUBLIC_KEY_FILE, keys.public_pem.as_bytes(), false)?;
    write(KEY_ID_FILE, format!("{}\n", keys.key_id).as_bytes(), false)?;
    write(C2PA_CHAIN_FILE, chain.as_bytes(), false)?;
    write(C2PA_CA_FILE, ca.as_bytes(), false)?;
    Ok(Generated {
        key_id: keys.key_id,
        files,
    })
}

#[cfg(test)]
mod tests;

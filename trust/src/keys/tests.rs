use std::process::Command;

use super::*;

#[test]
fn generated_keys_load_sign_and_verify_and_the_key_id_is_what_openssl_derives() {
    let dir = tempfile::tempdir().unwrap();
    let made = generate(dir.path()).unwrap();
    for name in [
        SIGNING_KEY_FILE,
        PUBLIC_KEY_FILE,
        KEY_ID_FILE,
        C2PA_CHAIN_FILE,
        C2PA_CA_FILE,
    ] {
        assert!(dir.path().join(name).is_file(), "{name} written");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join(SIGNING_KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the private key is readable by its owner only"
    );

    // The key id, derived by OpenSSL: the raw key is the last 32 bytes of the public key's DER.
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(dir.path().join(PUBLIC_KEY_FILE))
        .output()
        .expect("openssl is installed");
    assert!(der.status.success());
    let raw = &der.stdout[der.stdout.len() - 32..];
    let expected = hex::encode(&Sha256::digest(raw)[..8]);
    assert_eq!(made.key_id, expected);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(KEY_ID_FILE))
            .unwrap()
            .trim(),
        expected
    );

    let keys = SigningKeys::load_dir(dir.path()).unwrap();
    assert_eq!(keys.key_id(), expected);
    let public = public_key_from_pem(keys.public_pem()).unwrap();
    let signature = keys.sign(b"receipt bytes");
    assert!(verify(&public, b"receipt bytes", &signature));
    assert!(!verify(&public, b"receipt bytez", &signature));
    let mut flipped = signature;
    flipped[10] ^= 1;
    assert!(!verify(&public, b"receipt bytes", &flipped));
    assert!(!verify(&public, b"receipt bytes", &signature[..63]));

    // Never printed.
    let secret = std::fs::read_to_string(dir.path().join(SIGNING_KEY_FILE)).unwrap();
    let shown = format!("{keys:?}");
    assert!(shown.contains(&expected));
    let body: String = secret.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!shown.contains(&body));
}

#[test]
fn generate_refuses_to_overwrite_a_key_and_load_explains_a_missing_or_wrong_file() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path()).unwrap();
    let again = generate(dir.path()).unwrap_err().to_string();
    assert!(again.contains("already there"), "{again}");

    let missing = SigningKeys::load_dir(&dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("caravan keys generate"), "{missing}");

    // An RSA key is not the Ed25519 key receipts are signed with.
    let rsa = dir.path().join("rsa.key");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
        ])
        .arg(&rsa)
        .output()
        .unwrap();
    assert!(made.status.success());
    let wrong = SigningKeys::load(&rsa, &dir.path().join(C2PA_CHAIN_FILE))
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("not an Ed25519 private key"), "{wrong}");
}

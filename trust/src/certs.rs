//! The throw-away C2PA certificate authority `caravan keys generate` makes for development and
//! tests: C2PA refuses a lone self-signed certificate, so the signing key gets a certificate
//! (digital signature, e-mail protection: an extended key usage C2PA accepts) issued by a CA that
//! exists only in the generated folder. Verifiers report it as untrusted, which it is.

use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ED25519,
};

use crate::error::TrustError;

/// The certificate chain (the key's certificate, then the CA's) and the CA's certificate
/// alone, both PEM.
pub fn test_chain(key: &SigningKey) -> Result<(String, String), TrustError> {
    let err = |e: rcgen::Error| TrustError::Certificate(e.to_string());
    let now = time::OffsetDateTime::now_utc();
    let name = |common: &str| {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common);
        dn.push(
            DnType::OrganizationName,
            "Caravan (development, not for production)",
        );
        dn
    };

    let ca_key = KeyPair::generate_for(&PKCS_ED25519).map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name = name("Caravan development CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = now - time::Duration::days(1);
    ca.not_after = now + time::Duration::days(5 * 365);
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let pkcs8 = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| TrustError::Certificate(e.to_string()))?;
    let leaf_key = KeyPair::from_pem(&pkcs8).map_err(err)?;
    let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    leaf.distinguished_name = name("Caravan receipts and content credentials");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    // C2PA's certificate profile wants the issuer's key identifier on the signing certificate.
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(2 * 365);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;
    Ok((
        format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
        ca_cert.pem(),
    ))
}

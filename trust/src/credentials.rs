//! C2PA content credentials embedded in the public derivatives (JPEG, WebP, MP4) with the `c2pa`
//! crate (pure-Rust cryptography): what was done (`c2pa.opened` the master, then
//! `c2pa.transcoded`, `c2pa.resized`, `c2pa.color_adjustments`, `c2pa.watermarked` as they
//! apply), the master as the parent ingredient by its SHA-256, the catalogue's creator and
//! rights (a `cawg.metadata` assertion) and the IPTC digital source type (on the actions:
//! AI-generated art says so).

use std::path::Path;
use std::sync::Arc;

use caravan_proto::metadata::digital_source_type_uri;
use caravan_proto::AssetMetadata;
use serde_json::json;

use crate::error::TrustError;
use crate::keys::SigningKeys;

/// The media types that get content credentials.
pub const SIGNED_MEDIA_TYPES: &[&str] = &["image/jpeg", "image/webp", "video/mp4"];

/// What the manifest says of one output.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The output's name (`access.jpg`).
    pub title: &'a str,
    pub media_type: &'a str,
    pub master_sha256: &'a str,
    pub master_media_type: &'a str,
    /// Actions after opening the master, in order (`c2pa.transcoded`, `c2pa.resized` …).
    pub actions: &'a [&'a str],
    pub metadata: &'a AssetMetadata,
}

/// Embeds content credentials with one key; shared by a worker's jobs.
pub struct ContentCredentials {
    context: Arc<c2pa::Context>,
    signer: c2pa::BoxedSigner,
}

impl std::fmt::Debug for ContentCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentCredentials").finish_non_exhaustive()
    }
}

impl ContentCredentials {
    pub fn new(keys: &SigningKeys) -> Result<Self, TrustError> {
        Ok(Self {
            context: c2pa::Context::new().into_shared(),
            signer: keys.c2pa_signer()?,
        })
    }

    /// Rewrites the file at `path` with a C2PA manifest of `facts` embedded (streamed through
    /// a temporary file beside it, then renamed over it).
    pub fn embed(&self, path: &Path, facts: &Facts<'_>) -> Result<(), TrustError> {
        let fail = |detail: String| TrustError::Credentials {
            output: facts.title.to_owned(),
            detail,
        };
        let temporary = path.with_extension("c2pa-partial");
        let result = (|| {
            let mut source = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
            let mut dest = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&temporary)
                .map_err(|e| fail(e.to_string()))?;
            let mut builder = self.builder(facts).map_err(|e| fail(e.to_string()))?;
            builder
                .sign(
                    self.signer.as_ref(),
                    facts.media_type,
                    &mut source,
                    &mut dest,
                )
                .map_err(|e| fail(e.to_string()))?;
            dest.sync_all().map_err(|e| fail(e.to_string()))?;
            std::fs::rename(&temporary, path).map_err(|e| fail(e.to_string()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result
    }

    fn builder(&self, facts: &Facts<'_>) -> Result<c2pa::Builder, c2pa::Error> {
        let definition = json!({
            "title": facts.title,
            "format": facts.media_type,
            "claim_generator_info": [{ "name": "caravan", "version": env!("CARGO_PKG_VERSION") }],
        });
        let mut builder =
            c2pa::Builder::from_shared_context(&self.context).with_definition(definition)?;
        let master: c2pa::Ingredient = serde_json::from_value(json!({
            "title": "master",
            "format": facts.master_media_type,
            "instance_id": master_instance_id(facts.master_sha256),
            "relationship": "parentOf",
            "label": "master",
        }))
        .map_err(c2pa::Error::JsonError)?;
        builder.add_ingredient(master);
        let source_type = facts
            .metadata
            .digital_source_type
            .as_deref()
            .map(digital_source_type_uri);
        let mut opened = json!({
            "action": "c2pa.opened",
            "parameters": { "ingredientIds": ["master"] },
        });
        if let Some(uri) = &source_type {
            opened["digitalSourceType"] = json!(uri);
        }
        builder.add_action(opened)?;
        for action in facts.actions {
            let mut action = json!({ "action": action });
            if let Some(uri) = &source_type {
                action["digitalSourceType"] = json!(uri);
            }
            builder.add_action(action)?;
        }
        if let Some(metadata) = metadata_assertion(facts.metadata) {
            builder.add_assertion_json("cawg.metadata", &metadata)?;
        }
        Ok(builder)
    }
}

/// How the manifest names the master: `sha256:<hex>`, its asset id.
pub fn master_instance_id(master_sha256: &str) -> String {
    format!("sha256:{master_sha256}")
}

/// The catalogue's title, creator, rights and source type as JSON-LD (Dublin Core, XMP Rights,
/// IPTC), or `None` when it says nothing.
fn metadata_assertion(meta: &AssetMetadata) -> Option<serde_json::Value> {
    if meta.is_empty() {
        return None;
    }
    let mut value = json!({
        "@context": {
            "dc": "http://purl.org/dc/elements/1.1/",
            "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
            "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
        },
    });
    let fields = [
        ("dc:title", meta.title.clone().map(|t| json!(t))),
        ("dc:creator", meta.creator.clone().map(|c| json!([c]))),
        ("dc:rights", meta.rights.clone().map(|r| json!(r))),
        (
            "xmpRights:WebStatement",
            meta.rights_uri.clone().map(|u| json!(u)),
        ),
        (
            "Iptc4xmpExt:DigitalSourceType",
            meta.digital_source_type
                .as_deref()
                .map(|d| json!(digital_source_type_uri(d))),
        ),
    ];
    for (name, field) in fields {
        if let Some(field) = field {
            value[name] = field;
        }
    }
    Some(value)
}

/// What a verifier reads back from an output's manifest.
#[derive(Debug, Clone)]
pub struct ReadBack {
    /// Validation problems other than the signing certificate being untrusted (a throw-away
    /// development CA is untrusted by design): empty when the manifest is valid and its hash
    /// binding matches the file.
    pub problems: Vec<String>,
    /// Whether the certificate chained to a trusted root.
    pub trusted: bool,
    /// The parent ingredient's instance id (`sha256:<master>`).
    pub master: Option<String>,
    /// `dc:rights` of the metadata assertion.
    pub rights: Option<String>,
    pub digital_source_type: Option<String>,
}

/// Reads and validates the manifest embedded in the file at `path` (of `media_type`).
pub fn read_file(path: &Path, media_type: &str) -> Result<ReadBack, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open it ({e})"))?;
    let reader = c2pa::Reader::from_context(c2pa::Context::new())
        .with_stream(media_type, std::io::BufReader::new(file))
        .map_err(|e| format!("no readable content credentials ({e})"))?;
    let problems = reader
        .validation_status()
        .unwrap_or_default()
        .iter()
        .filter(|s| !s.passed())
        .map(|s| s.code().to_owned())
        .filter(|code| !code.starts_with("signingCredential.untrusted"))
        .collect();
    let trusted = reader.validation_state() == c2pa::ValidationState::Trusted;
    let manifest = reader
        .active_manifest()
        .ok_or("content credentials without an active manifest")?;
    let master = manifest
        .ingredients()
        .iter()
        .find(|i| i.relationship() == &c2pa::Relationship::ParentOf)
        .map(|i| i.instance_id().to_owned());
    let metadata = manifest
        .assertions()
        .iter()
        .find(|a| a.label() == "cawg.metadata")
        .and_then(|a| a.value().ok().cloned());
    let field = |name: &str| {
        metadata
            .as_ref()
            .and_then(|m| m.get(name))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    Ok(ReadBack {
        problems,
        trusted,
        master,
        rights: field("dc:rights"),
        digital_source_type: field("Iptc4xmpExt:DigitalSourceType"),
    })
}

#[cfg(test)]
mod tests;

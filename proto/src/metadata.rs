//! What a digitization team says about an asset when it submits it: title, creator and rights.
//! It travels with the job, is written into the public derivatives' own metadata (XMP in JPEG
//! and WebP, tags in MP4, `rights` in IIIF `info.json`) and is recorded in the receipt.

use serde::{Deserialize, Serialize};

/// Descriptive and rights metadata of one asset. Any field may be absent; text is any language
/// and script (UTF-8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssetMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// The rights statement as people read it ("© Sharjah Museums Authority, all rights
    /// reserved").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
    /// The statement's URI, from RightsStatements.org or Creative Commons
    /// (`http://rightsstatements.org/vocab/InC/1.0/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights_uri: Option<String>,
}

impl AssetMetadata {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

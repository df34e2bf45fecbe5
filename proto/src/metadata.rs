//! What a digitization team says about an asset when it submits it: title, creator, rights,
//! description, date and attribution, the texts in as many languages as the catalogue gives.
//! It travels with the job, is written into the public derivatives' own metadata (XMP in JPEG
//! and WebP, tags in MP4, `rights` in IIIF `info.json`) and is recorded in the receipt.

use std::collections::BTreeMap;

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
    /// How the work was made, as an IPTC digital source type (`digitalCapture`,
    /// `trainedAlgorithmicMedia`, `compositeWithTrainedAlgorithmicMedia` …): visitors must be
    /// able to tell AI-generated art. Written into XMP and content credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    /// What the work shows or is, in a sentence or a paragraph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the work was made, as the catalogue says it ("1962", "c. 1830–1832", "1962-03-14").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The credit line a display must show ("Courtesy of the Sharjah Museums Authority").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    /// The BCP 47 language tag of the untagged texts above (the submission's language);
    /// `None` when the submission did not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The texts in other languages, by BCP 47 tag (canonical form: `zh-Hant`, `ar`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, Texts>,
}

/// The texts of an asset that a catalogue may give in several languages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Texts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
}

/// A text field that may come in several languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Title,
    Creator,
    Description,
    Attribution,
    Rights,
}

impl TextField {
    pub const ALL: [TextField; 5] = [
        TextField::Title,
        TextField::Creator,
        TextField::Description,
        TextField::Attribution,
        TextField::Rights,
    ];

    /// The catalogue column's name.
    pub fn column(self) -> &'static str {
        match self {
            TextField::Title => "title",
            TextField::Creator => "creator",
            TextField::Description => "description",
            TextField::Attribution => "attribution",
            TextField::Rights => "rights",
        }
    }

    pub fn from_column(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.column() == name)
    }

    /// This field of `texts`.
    pub fn of(self, texts: &Texts) -> Option<&String> {
        match self {
            TextField::Title => texts.title.as_ref(),
            TextField::Creator => texts.creator.as_ref(),
            TextField::Description => texts.description.as_ref(),
            TextField::Attribution => texts.attribution.as_ref(),
            TextField::Rights => texts.rights.as_ref(),
        }
    }

    /// This field of `texts`, to set.
    pub fn of_mut(self, texts: &mut Texts) -> &mut Option<String> {
        match self {
            TextField::Title => &mut texts.title,
            TextField::Creator => &mut texts.creator,
            TextField::Description => &mut texts.description,
            TextField::Attribution => &mut texts.attribution,
            TextField::Rights => &mut texts.rights,
        }
    }
}

/// The language key of text whose language nobody stated, as IIIF Presentation 3 writes it.
pub const NO_LANGUAGE: &str = "none";

/// The IPTC digital source types (<https://cv.iptc.org/newscodes/digitalsourcetype/>) a
/// catalogue may name.
pub const DIGITAL_SOURCE_TYPES: &[&str] = &[
    "digitalCapture",
    "negativeFilm",
    "positiveFilm",
    "print",
    "minorHumanEdits",
    "compositeCapture",
    "algorithmicallyEnhanced",
    "dataDrivenMedia",
    "digitalArt",
    "virtualRecording",
    "compositeSynthetic",
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "screenCapture",
    "humanEdits",
];

/// The IPTC URI of a digital source type named in a catalogue.
pub fn digital_source_type_uri(name: &str) -> String {
    format!("http://cv.iptc.org/newscodes/digitalsourcetype/{name}")
}

impl AssetMetadata {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The untagged texts (those in the submission's language).
    pub fn texts(&self) -> Texts {
        Texts {
            title: self.title.clone(),
            creator: self.creator.clone(),
            description: self.description.clone(),
            attribution: self.attribution.clone(),
            rights: self.rights.clone(),
        }
    }

    /// `field` in every language it is given in, as a language map: the untagged text under
    /// the submission's language (or [`NO_LANGUAGE`]), then each translation.
    pub fn in_languages(&self, field: TextField) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        if let Some(text) = field.of(&self.texts()) {
            let language = self.language.as_deref().unwrap_or(NO_LANGUAGE);
            map.insert(language.to_owned(), text.clone());
        }
        for (language, texts) in &self.translations {
            if let Some(text) = field.of(texts) {
                map.insert(language.clone(), text.clone());
            }
        }
        map
    }
}

//! The exhibition file (TOML): which works, a title in several languages, and the sites.
//!
//! ```toml
//! id = "silk-threads"
//! title = { en = "Silk Threads", th = "เส้นไหม", ar = "خيوط الحرير" }
//! organization = "Sharjah Museums Authority"
//! assets = { batches = ["<batch id>"] }   # or files = ["prints/hokusai.tif"], asset_ids = ["<sha256>"]
//!
//! [[sites]]
//! id = "bangkok"
//! languages = ["th", "en"]
//! profile = "exhibition-th"
//! base_url = "http://kiosk.local/bangkok/"
//! ```

use std::collections::BTreeMap;

use caravan_proto::{AssetId, BatchId, ProfileName};
use caravan_scheduler::metadata::language_tag;
use serde::Deserialize;

use crate::ExhibitionError;

/// An exhibition, checked: ids are safe in store keys, languages are canonical BCP 47 tags,
/// base URLs are http(s) and end with `/`.
#[derive(Debug, Clone)]
pub struct Exhibition {
    pub id: String,
    /// By canonical language tag.
    pub title: BTreeMap<String, String>,
    /// The institution named as the packs' `Source-Organization`.
    pub organization: Option<String>,
    pub assets: Selection,
    pub sites: Vec<Site>,
}

/// The works: every asset of the batches, the files named (as submitted, in any batch), and
/// the asset ids, in that order, each once.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub batches: Vec<BatchId>,
    pub files: Vec<String>,
    pub asset_ids: Vec<AssetId>,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub id: String,
    /// In order of preference; the pack's labels keep these (and text in no stated language).
    pub languages: Vec<String>,
    /// The profile the site's derivatives are made with.
    pub profile: ProfileName,
    /// Where the site serves its pack's `data/` folder from, ending with `/`.
    pub base_url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExhibition {
    id: String,
    #[serde(default)]
    title: BTreeMap<String, String>,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    assets: RawSelection,
    #[serde(default)]
    sites: Vec<RawSite>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawSelection {
    batches: Vec<String>,
    files: Vec<String>,
    asset_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    id: String,
    languages: Vec<String>,
    #[serde(default)]
    profile: Option<String>,
    base_url: String,
}

impl Exhibition {
    pub fn load(path: &std::path::Path) -> Result<Self, ExhibitionError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExhibitionError::File {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(&text).map_err(|detail| ExhibitionError::File {
            path: path.display().to_string(),
            detail,
        })
    }

    /// Parses and checks an exhibition file; the error says what to change.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawExhibition = toml::from_str(text).map_err(|e| e.to_string())?;
        let id = safe_id("exhibition id", &raw.id)?;
        let title = languages_of(&raw.title, "title")?;
        let assets = Selection {
            batches: (raw.assets.batches.iter())
                .map(|b| BatchId::parse(b.as_str()).map_err(|e| format!("assets.batches: {e}")))
                .collect::<Result<_, _>>()?,
            files: raw.assets.files,
            asset_ids: (raw.assets.asset_ids.iter())
                .map(|a| AssetId::parse(a.as_str()).map_err(|e| format!("assets.asset_ids: {e}")))
                .collect::<Result<_, _>>()?,
        };
        if assets.batches.is_empty() && assets.files.is_empty() && assets.asset_ids.is_empty() {
            return Err("assets names no works: give batches, files or asset_ids".into());
        }
        if raw.sites.is_empty() {
            return Err("no [[sites]]: an exhibition needs at least one site".into());
        }
        let mut sites: Vec<Site> = Vec::new();
        for raw in raw.sites {
            let id = safe_id("site id", &raw.id)?;
            if sites.iter().any(|s| s.id == id) {
                return Err(format!("site {id:?} is listed twice"));
            }
            if raw.languages.is_empty() {
                return Err(format!(
                    "site {id}: languages is empty (e.g. [\"th\", \"en\"])"
                ));
            }
            let languages = (raw.languages.iter())
                .map(|l| language_tag(l).map_err(|e| format!("site {id}: {e}")))
                .collect::<Result<_, _>>()?;
            let profile = ProfileName::parse(raw.profile.unwrap_or_else(|| "default".into()))
                .map_err(|e| format!("site {id}: profile: {e}"))?;
            let base = raw.base_url.trim();
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(format!(
                    "site {id}: base_url {base:?} must be an http(s) address (where the site serves the pack's data/ folder)"
                ));
            }
            let base_url = format!("{}/", base.trim_end_matches('/'));
            sites.push(Site {
                id,
                languages,
                profile,
                base_url,
            });
        }
        Ok(Self {
            id,
            title,
            organization: raw.organization,
            assets,
            sites,
        })
    }
}

/// `value` if it is usable as one segment of a store key and a folder name.
fn safe_id(what: &str, value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && (value.bytes())
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !value.starts_with('-');
    match ok {
        true => Ok(value.to_owned()),
        false => Err(format!(
            "{what} {value:?}: use 1 to 64 lowercase letters, digits, '-' or '_' (e.g. \"silk-threads\")"
        )),
    }
}

fn languages_of(
    map: &BTreeMap<String, String>,
    field: &str,
) -> Result<BTreeMap<String, String>, String> {
    map.iter()
        .map(|(tag, text)| {
            Ok((
                language_tag(tag).map_err(|e| format!("{field}: {e}"))?,
                text.clone(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests;

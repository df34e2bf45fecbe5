//! Named profiles: the built-in `default`, plus any read from a TOML file:
//!
//! ```toml
//! [profiles.exhibition]
//! image = { access_long_edge = 3000, access_quality = 90 }
//! video = { max_height = 720, crf = 22 }
//! ```
//!
//! Every field a profile does not name keeps its default (see [`caravan_proto::Profile`]).

use std::collections::BTreeMap;
use std::path::Path;

use caravan_proto::{ImageProfile, Limits, ManifestProfile, Profile, ProfileName, VideoProfile};
use serde::Deserialize;

/// The profiles a worker knows, by name.
#[derive(Debug, Clone)]
pub struct ProfileSet {
    profiles: BTreeMap<ProfileName, Profile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    profiles: BTreeMap<String, ProfileEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileEntry {
    #[serde(default)]
    image: Option<ImageProfile>,
    #[serde(default)]
    video: Option<VideoProfile>,
    #[serde(default)]
    limits: Option<Limits>,
    #[serde(default)]
    manifest: Option<ManifestProfile>,
}

impl ProfileSet {
    /// Only the built-in `default` profile.
    pub fn builtin() -> Self {
        let default = Profile::default();
        Self {
            profiles: BTreeMap::from([(default.name.clone(), default)]),
        }
    }

    /// The built-in profile plus those in `path` (which may redefine `default`).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read profiles file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("profiles file {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        check_known_keys(&raw)?;
        let file: ProfileFile = raw.try_into().map_err(|e: toml::de::Error| e.to_string())?;
        let mut set = Self::builtin();
        for (name, entry) in file.profiles {
            let name = ProfileName::parse(name).map_err(|e| e.to_string())?;
            let profile = Profile {
                name: name.clone(),
                image: entry.image.unwrap_or_default(),
                video: entry.video.unwrap_or_default(),
                limits: entry.limits.unwrap_or_default(),
                manifest: entry.manifest.unwrap_or_default(),
            };
            validate(&profile)?;
            set.profiles.insert(name, profile);
        }
        Ok(set)
    }

    /// Checks every profile, the built-in one included, against this worker: the files they
    /// name (logo, fonts, the default CMYK profile) must be there. Run when a worker starts, so
    /// a missing file stops it with what to do instead of failing jobs.
    pub fn check(&self) -> Result<(), String> {
        self.profiles.values().try_for_each(validate)
    }

    pub fn get(&self, name: &ProfileName) -> Option<&Profile> {
        self.profiles.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &ProfileName> {
        self.profiles.keys()
    }
}

/// The profile types accept unknown fields (a receipt written by a newer binary must still
/// parse), so a typo in a profile file is caught here instead.
fn check_known_keys(raw: &toml::Value) -> Result<(), String> {
    let sections = [
        ("image", serde_json::to_value(ImageProfile::default())),
        ("video", serde_json::to_value(VideoProfile::default())),
        ("limits", serde_json::to_value(Limits::default())),
        ("manifest", serde_json::to_value(ManifestProfile::default())),
    ];
    let Some(profiles) = raw.get("profiles").and_then(toml::Value::as_table) else {
        return Ok(());
    };
    for (name, entry) in profiles {
        let Some(entry) = entry.as_table() else {
            continue;
        };
        for (section, value) in entry {
            let Some((_, Ok(known))) = sections.iter().find(|(s, _)| s == section) else {
                continue; // deny_unknown_fields on ProfileEntry reports it
            };
            unknown_key(value, known, section).map_or(Ok(()), |key| {
                Err(format!("profile {name}: unknown setting {key}"))
            })?;
        }
    }
    Ok(())
}

/// The first key of `value` (a table, at any depth) that `known` (the defaults) does not have.
fn unknown_key(value: &toml::Value, known: &serde_json::Value, path: &str) -> Option<String> {
    let table = value.as_table()?;
    table.iter().find_map(|(key, inner)| match known.get(key) {
        None => Some(format!("{path}.{key}")),
        Some(known) if known.is_object() => unknown_key(inner, known, &format!("{path}.{key}")),
        Some(_) => None,
    })
}

fn validate(p: &Profile) -> Result<(), String> {
    let web = |url: &str| url.starts_with("http://") || url.starts_with("https://");
    let m = &p.manifest;
    if let Some(url) = m.receipts_base_url.as_deref().filter(|u| !web(u)) {
        return Err(format!(
            "profile {}: manifest.receipts_base_url {url:?} is not an http(s) address",
            p.name
        ));
    }
    if let Some(provider) = &m.provider {
        if !web(&provider.homepage) || provider.label.is_empty() {
            return Err(format!(
                "profile {}: manifest.provider needs an http(s) homepage and a label in at least one language",
                p.name
            ));
        }
    }
    let i = &p.image;
    let mut edges = [i.access_long_edge, i.thumbnail_long_edge]
        .into_iter()
        .chain(i.access_extra_sizes.iter().copied())
        .chain(i.thumbnail_extra_sizes.iter().copied());
    if edges.any(|e| !(16..=65_500).contains(&e)) {
        return Err(format!(
            "profile {}: sizes (long edges) must be 16..=65500 px",
            p.name
        ));
    }
    let webp_max = caravan_media::image::encode::WEBP_MAX_EDGE;
    if i.webp
        && (std::iter::once(&i.access_long_edge).chain(&i.access_extra_sizes))
            .any(|&e| e > webp_max)
    {
        return Err(format!(
            "profile {}: WebP access copies are at most {webp_max} px; lower the access sizes or set webp = false",
            p.name
        ));
    }
    if i.access_extra_sizes.len() + i.thumbnail_extra_sizes.len() > 16 {
        return Err(format!("profile {}: at most 16 extra sizes", p.name));
    }
    let qualities = [i.access_quality, i.thumbnail_quality, i.webp_quality];
    if qualities.iter().any(|q| !(1..=100).contains(q)) {
        return Err(format!(
            "profile {}: JPEG and WebP qualities must be 1..=100",
            p.name
        ));
    }
    for w in [&i.watermark, &p.video.watermark] {
        if w.enabled
            && (!(0.0..=1.0).contains(&w.opacity)
                || !(0.01..=1.0).contains(&w.scale)
                || !(0.0..=0.45).contains(&w.margin))
        {
            return Err(format!(
                "profile {}: watermark opacity must be 0..=1, scale 0.01..=1, margin 0..=0.45",
                p.name
            ));
        }
        // Loads the logo and fonts and shapes the text now, so a worker with a bad watermark
        // setting says so when it starts, not on every job.
        caravan_media::watermark::Watermark::prepare(w)
            .map_err(|e| format!("profile {}: {e}", p.name))?;
    }
    caravan_media::image::colour::default_cmyk_profile(i)
        .map_err(|e| format!("profile {}: {e}", p.name))?;
    let v = &p.video;
    if !(0.0..=1.0).contains(&v.poster_position) {
        return Err(format!(
            "profile {}: video.poster_position is a fraction of the duration, 0..=1",
            p.name
        ));
    }
    if !(-70.0..=-5.0).contains(&v.loudness_target_lufs)
        || !(-9.0..=0.0).contains(&v.loudness_true_peak_dbtp)
    {
        return Err(format!(
            "profile {}: loudness target must be -70..=-5 LUFS and true peak -9..=0 dBTP",
            p.name
        ));
    }
    if v.storyboard_interval_seconds.is_nan()
        || v.storyboard_interval_seconds <= 0.0
        || !(16..=640).contains(&v.storyboard_tile_width)
        || !(1..=400).contains(&v.storyboard_max_tiles)
    {
        return Err(format!(
            "profile {}: storyboard interval must be > 0 s, tile width 16..=640 px, max tiles 1..=400",
            p.name
        ));
    }
    let hls = &v.hls;
    if hls.enabled
        && (!(1.0..=60.0).contains(&hls.segment_seconds)
            || hls.rungs.is_empty()
            || hls.rungs.len() > 8
            || hls
                .rungs
                .iter()
                .any(|r| !(64..=4320).contains(&r.height) || !(64..=200_000).contains(&r.max_kbps)))
    {
        return Err(format!(
            "profile {}: video.hls needs 1..=8 rungs of 64..=4320 lines and 64..=200000 kbit/s, and segments of 1..=60 s",
            p.name
        ));
    }
    if !v.access_mp4 && !hls.enabled {
        return Err(format!(
            "profile {}: video.access_mp4 and video.hls.enabled are both off: a video would make nothing",
            p.name
        ));
    }
    if v.preservation.enabled && !caravan_proto::ffv1_slices_valid(v.preservation.slices) {
        return Err(format!(
            "profile {}: video.preservation.slices = {} cannot tile a frame; use v × h slices with v ≤ h < 2v, such as 4, 6, 9, 12, 16, 20, 24 or 30",
            p.name, v.preservation.slices
        ));
    }
    if v.max_height < 64 || v.crf > 51 {
        return Err(format!(
            "profile {}: video.max_height must be ≥ 64 and crf ≤ 51",
            p.name
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! A pack's offline viewer: `index.html` and `viewer/` in the payload, showing the exhibition
//! from any static web server with nothing loaded from the internet. The page and its script
//! (`exhibition/viewer/`) are ours; deep zoom is OpenSeadragon and HLS is hls.js, from the npm
//! registry, pinned by `exhibition/viewer/package-lock.json` and embedded at build time
//! (`exhibition/build.rs`).

use std::path::Path;

use serde_json::json;

use crate::file::{Exhibition, Site};

const PAGE: &str = include_str!("../viewer/index.html");
const SCRIPT: &[u8] = include_bytes!("../viewer/viewer.js");
const STYLE: &[u8] = include_bytes!("../viewer/viewer.css");
const OPENSEADRAGON: &[u8] = include_bytes!(env!("CARAVAN_VIEWER_OPENSEADRAGON"));
const OPENSEADRAGON_LICENSE: &str = include_str!(env!("CARAVAN_VIEWER_OPENSEADRAGON_LICENSE"));
const HLS: &[u8] = include_bytes!(env!("CARAVAN_VIEWER_HLS"));
const HLS_LICENSE: &str = include_str!(env!("CARAVAN_VIEWER_HLS_LICENSE"));

/// Languages written right to left (primary subtags).
const RIGHT_TO_LEFT: &[&str] = &[
    "ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "syr", "ug", "ur", "yi",
];

/// The viewer libraries and their versions, for the pack's `bag-info.txt` and people.
pub fn libraries() -> [(&'static str, &'static str); 2] {
    [
        (
            "OpenSeadragon",
            env!("CARAVAN_VIEWER_OPENSEADRAGON_VERSION"),
        ),
        ("hls.js", env!("CARAVAN_VIEWER_HLS_VERSION")),
    ]
}

/// Whether text in `language` (a BCP 47 tag) runs right to left.
pub fn right_to_left(language: &str) -> bool {
    let primary = language.split('-').next().unwrap_or_default();
    RIGHT_TO_LEFT.contains(&primary.to_ascii_lowercase().as_str())
}

/// Every file of the viewer, as (path below the payload, bytes).
pub fn files(exhibition: &Exhibition, site: &Site) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("index.html", page(exhibition, site).into_bytes()),
        ("viewer/viewer.js", SCRIPT.to_vec()),
        ("viewer/viewer.css", STYLE.to_vec()),
        ("viewer/openseadragon.min.js", OPENSEADRAGON.to_vec()),
        ("viewer/hls.min.js", HLS.to_vec()),
        ("viewer/LICENSES.txt", licenses().into_bytes()),
    ]
}

/// Writes the viewer into the payload folder `data`.
pub fn write(data: &Path, exhibition: &Exhibition, site: &Site) -> std::io::Result<()> {
    for (name, bytes) in files(exhibition, site) {
        let path = data.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)?;
    }
    Ok(())
}

/// `index.html` for the site: its first language and that language's direction on the page,
/// the exhibition's title in it, and what the script needs to read the pack.
fn page(exhibition: &Exhibition, site: &Site) -> String {
    let language = site.languages.first().map_or("und", String::as_str);
    let title = (site.languages.iter())
        .find_map(|l| exhibition.title.get(l))
        .or_else(|| exhibition.title.values().next())
        .map_or(exhibition.id.as_str(), String::as_str);
    let config = json!({
        "exhibition": exhibition.id,
        "site": site.id,
        "languages": site.languages,
        "base_url": site.base_url,
        "collection": format!("{}collection.json", site.base_url),
        "right_to_left": RIGHT_TO_LEFT,
    });
    // Inside <script>, only "</" could end the element early.
    let config = config.to_string().replace("</", "<\\/");
    PAGE.replace("{{LANG}}", &escape(language))
        .replace(
            "{{DIR}}",
            if right_to_left(language) {
                "rtl"
            } else {
                "ltr"
            },
        )
        .replace("{{TITLE}}", &escape(title))
        .replace("{{SITE}}", &config)
}

fn licenses() -> String {
    let [(osd, osd_version), (hls, hls_version)] = libraries();
    format!(
        "The viewer's libraries, from the npm registry, unchanged.\n\n\
         == {osd} {osd_version} (openseadragon.min.js) ==\n\n{OPENSEADRAGON_LICENSE}\n\n\
         == {hls} {hls_version} (hls.min.js) ==\n\n{HLS_LICENSE}\n"
    )
}

/// Text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests;

//! A site's copies of the IIIF documents: every address under the store's public URLs moved
//! under the site's base URL, and language maps cut to the site's languages.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Address prefixes to replace, longest first.
#[derive(Debug, Clone, Default)]
pub struct Rebase {
    prefixes: Vec<(String, String)>,
}

impl Rebase {
    pub fn new(mut prefixes: Vec<(String, String)>) -> Self {
        prefixes.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Self { prefixes }
    }

    /// Every string in `value` that starts with a prefix, moved to its replacement.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Some((from, to)) = self
                    .prefixes
                    .iter()
                    .find(|(f, _)| text.starts_with(f.as_str()))
                {
                    *text = format!("{to}{}", &text[from.len()..]);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.apply(v)),
            Value::Object(fields) => fields.values_mut().for_each(|v| self.apply(v)),
            _ => {}
        }
    }
}

/// Cuts every IIIF language map in `value` (under `label`, `summary` or `value`) to
/// `languages` and text in no stated language (`none`); a map with none of them is kept whole,
/// so no label disappears.
/// Whether a site showing `languages` carries text in `language`: the same tag, or the
/// same primary language (`zh-Hant` for a `zh` site).
pub fn shows_language(languages: &[String], language: &str) -> bool {
    let primary = |tag: &str| {
        tag.split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    (languages.iter()).any(|l| l.eq_ignore_ascii_case(language) || primary(l) == primary(language))
}

/// The site's subtitles only: a manifest's `supplementing` annotations in other languages
/// are removed (and an annotation page left empty with them).
pub fn keep_subtitles(manifest: &mut Value, languages: &[String]) {
    let Some(canvases) = manifest["items"].as_array_mut() else {
        return;
    };
    for canvas in canvases {
        let Some(pages) = canvas.get_mut("annotations").and_then(Value::as_array_mut) else {
            continue;
        };
        for page in pages.iter_mut() {
            if let Some(items) = page["items"].as_array_mut() {
                items.retain(|a| match a["body"]["language"].as_str() {
                    Some(language) if a["motivation"] == "supplementing" => {
                        shows_language(languages, language)
                    }
                    _ => true,
                });
            }
        }
        pages.retain(|p| p["items"].as_array().is_some_and(|i| !i.is_empty()));
        if pages.is_empty() {
            canvas
                .as_object_mut()
                .expect("a canvas")
                .remove("annotations");
        }
    }
}

/// An HLS master playlist with only the subtitle renditions in `languages` (and, when none is
/// left, no variant naming a subtitle group).
pub fn keep_playlist_subtitles(master: &str, languages: &[String]) -> String {
    let mut kept = String::new();
    let mut any = false;
    fn language_of(line: &str) -> Option<&str> {
        let at = line.find("LANGUAGE=\"")? + "LANGUAGE=\"".len();
        line[at..].split('"').next()
    }
    for line in master.lines() {
        if line.starts_with("#EXT-X-MEDIA:TYPE=SUBTITLES") {
            match language_of(line) {
                Some(language) if !shows_language(languages, language) => continue,
                _ => any = true,
            }
        }
        kept.push_str(line);
        kept.push('\n');
    }
    if any {
        return kept;
    }
    kept.lines()
        .map(|l| {
            let l = l.replace(",SUBTITLES=\"subs\"", "");
            l + "\n"
        })
        .collect()
}

pub fn keep_languages(value: &mut Value, languages: &[String]) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| keep_languages(v, languages)),
        Value::Object(fields) => {
            for (key, inner) in fields.iter_mut() {
                if matches!(key.as_str(), "label" | "summary" | "value") && is_language_map(inner) {
                    cut(inner, languages);
                } else {
                    keep_languages(inner, languages);
                }
            }
        }
        _ => {}
    }
}

fn is_language_map(value: &Value) -> bool {
    value.as_object().is_some_and(|map| {
        !map.is_empty()
            && map
                .values()
                .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
    })
}

fn cut(map: &mut Value, languages: &[String]) {
    let Some(fields) = map.as_object() else {
        return;
    };
    let kept: serde_json::Map<String, Value> = (fields.iter())
        .filter(|(language, _)| language.as_str() == "none" || languages.contains(language))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !kept.is_empty() {
        *map = Value::Object(kept);
    }
}

/// A IIIF Presentation 3 Collection of the site's manifests: `items` are `(manifest, its
/// label, its thumbnail)` as the pack holds them.
pub fn collection(
    id: &str,
    title: &BTreeMap<String, String>,
    fallback_label: &str,
    items: &[(String, Value, Option<Value>)],
    languages: &[String],
) -> Value {
    let mut label: BTreeMap<&str, Vec<&str>> = (title.iter())
        .map(|(language, text)| (language.as_str(), vec![text.as_str()]))
        .collect();
    if label.is_empty() {
        label.insert("none", vec![fallback_label]);
    }
    let items: Vec<Value> = (items.iter())
        .map(|(manifest, label, thumbnail)| {
            let mut item = json!({ "id": manifest, "type": "Manifest", "label": label });
            if let Some(thumbnail) = thumbnail {
                item["thumbnail"] = thumbnail.clone();
            }
            item
        })
        .collect();
    let mut collection = json!({
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": id,
        "type": "Collection",
        "label": label,
        "items": items,
    });
    keep_languages(&mut collection, languages);
    collection
}

#[cfg(test)]
mod tests;

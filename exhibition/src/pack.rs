//! One site's pack: the site's derivatives of every work, their receipts, the IIIF documents
//! re-addressed under the site's base URL, a IIIF Collection, bagged (BagIt 1.0).
//!
//! Layout (the bag's `data/` is what the site serves from its base URL):
//! `data/collection.json`, `data/derivatives/<asset>/<profile>/…` (as in the store),
//! `data/receipts/<asset>/<profile>.json` (and `.json.sig` when signed), `data/rebased.json`,
//! and the offline viewer: `data/index.html` with `data/viewer/` ([`viewer`]).

use std::path::{Path, PathBuf};

use caravan_proto::{keys, Receipt};
use caravan_store::Store;
use serde::Serialize;
use serde_json::{json, Value};

use crate::bagit::{self, BagInfo};
use crate::file::{Exhibition, Site};
use crate::rebase::{self, keep_languages, Rebase};
use crate::viewer;
use crate::works::{self, State, Work};
use crate::ExhibitionError;

/// Outputs a pack never carries: the preservation copy is for the archive, not a kiosk.
const NOT_FOR_SITES: &[&str] = &["preservation.mkv"];
/// Outputs whose addresses are re-written for the site.
const REBASED: &[&str] = &["manifest.json", "iiif/info.json"];

/// Where a pack goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A local folder (created; a previous pack there is replaced).
    Folder(PathBuf),
    /// The store, under `packs/<exhibition>/<site>/`.
    Store,
}

/// What was packed for one site.
#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    pub site: String,
    pub profile: String,
    pub works: usize,
    pub files: u64,
    pub bytes: u64,
    /// The folder, or the store prefix.
    pub location: String,
    pub left_out: Vec<LeftOut>,
}

/// A work the pack does not carry, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LeftOut {
    pub work: String,
    pub asset_id: String,
    pub reason: String,
}

/// The store prefix of a site's pack.
pub fn store_prefix(exhibition: &str, site: &str) -> String {
    format!("packs/{exhibition}/{site}/")
}

pub async fn build(
    store: &Store,
    exhibition: &Exhibition,
    site: &Site,
    works: &[Work],
    destination: Destination,
) -> Result<PackSummary, ExhibitionError> {
    let (receipts, left_out) = receipts_of(store, site, works).await?;
    let root = match &destination {
        Destination::Folder(dir) => dir.clone(),
        Destination::Store => std::env::temp_dir().join(format!(
            "caravan-pack-{}-{}-{}",
            std::process::id(),
            exhibition.id,
            site.id
        )),
    };
    prepare(&root)?;
    let data = root.join("data");
    let mut items = Vec::new();
    let mut rebased = Vec::new();
    for (work, receipt) in &receipts {
        let asset = receipt.asset_id.as_str();
        let profile = receipt.profile.as_str();
        let rebase = Rebase::new(vec![
            (
                receipt.parameters.derivatives_url(asset),
                format!("{}derivatives/{asset}/{profile}", site.base_url),
            ),
            (
                receipt.parameters.receipt_url(asset),
                format!("{}receipts/{asset}/{profile}.json", site.base_url),
            ),
        ]);
        for output in &receipt.outputs {
            let name = output.name.as_str();
            if NOT_FOR_SITES.contains(&name) || !for_site(name, &site.languages) {
                continue;
            }
            let path = data.join(&output.key);
            fetch(store, &output.key, &path).await?;
            if name == HLS_MASTER && has_subtitles(receipt) {
                rewrite_playlist(&path, &site.languages)?;
                rebased.push(json!({ "file": output.key, "receipt_sha256": output.sha256 }));
            }
            if REBASED.contains(&name) {
                let document = rewrite(&path, &rebase, &site.languages)?;
                rebased.push(json!({ "file": output.key, "receipt_sha256": output.sha256 }));
                if name == "manifest.json" {
                    let id = document["id"].as_str().unwrap_or_default().to_owned();
                    items.push((
                        id,
                        document["label"].clone(),
                        document.get("thumbnail").cloned(),
                    ));
                }
            }
        }
        let receipt_key = keys::receipt(&receipt.asset_id, &receipt.profile);
        fetch(store, &receipt_key, &data.join(&receipt_key)).await?;
        let signature = keys::receipt_signature(&receipt.asset_id, &receipt.profile);
        if let Some(bytes) = store.get_bytes(&signature).await? {
            write(&data.join(&signature), &bytes)?;
        }
        if !receipt
            .outputs
            .iter()
            .any(|o| o.name.as_str() == "manifest.json")
        {
            tracing::warn!(work = %work.name(), "No IIIF manifest in the receipt (made before manifests); the collection leaves it out");
        }
    }
    let collection = rebase::collection(
        &format!("{}collection.json", site.base_url),
        &exhibition.title,
        &exhibition.id,
        &items,
        &site.languages,
    );
    write(&data.join("collection.json"), &pretty(&collection))?;
    let note = json!({
        "note": "Files whose addresses were moved under the site's base URL; every other payload file has the bytes its receipt lists",
        "base_url": site.base_url,
        "files": rebased,
    });
    write(&data.join("rebased.json"), &pretty(&note))?;
    viewer::write(&data, exhibition, site).map_err(|e| ExhibitionError::pack(&data, e))?;
    let info = BagInfo {
        source_organization: exhibition
            .organization
            .clone()
            .unwrap_or_else(|| "Unknown".into()),
        external_identifier: format!("{}/{}", exhibition.id, site.id),
        bagging_date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        software_agent: software_agent(),
    };
    let bag_root = root.clone();
    let (files, bytes) = tokio::task::spawn_blocking(move || bagit::write(&bag_root, &info))
        .await
        .expect("bagging does not panic")
        .map_err(|e| ExhibitionError::pack(&root, e))?;
    let location = match destination {
        Destination::Folder(dir) => dir.display().to_string(),
        Destination::Store => {
            let prefix = store_prefix(&exhibition.id, &site.id);
            upload(store, &root, &prefix).await?;
            let _ = std::fs::remove_dir_all(&root);
            prefix
        }
    };
    tracing::info!(site = %site.id, works = receipts.len(), files, bytes, location, "Pack written");
    Ok(PackSummary {
        site: site.id.clone(),
        profile: site.profile.to_string(),
        works: receipts.len(),
        files,
        bytes,
        location,
        left_out,
    })
}

/// Each work's receipt for the site's profile; works whose processing failed are left out,
/// works never processed with the profile stop the build.
async fn receipts_of(
    store: &Store,
    site: &Site,
    works: &[Work],
) -> Result<(Vec<(Work, Receipt)>, Vec<LeftOut>), ExhibitionError> {
    let (mut found, mut left_out, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for work in works {
        match works::state(store, work, &site.profile).await? {
            State::Processed(receipt) => found.push((work.clone(), *receipt)),
            State::Failed(code) => left_out.push(LeftOut {
                work: work.name(),
                asset_id: work.asset_id.to_string(),
                reason: format!("processing failed ({code}); see `caravan status`"),
            }),
            State::Unprocessed => missing.push(work.name()),
        }
    }
    if !missing.is_empty() {
        return Err(ExhibitionError::NotProcessed {
            site: site.id.clone(),
            profile: site.profile.to_string(),
            works: missing,
        });
    }
    Ok((found, left_out))
}

/// An empty folder for the pack: created, or emptied if it holds an earlier bag; a folder with
/// anything else in it is refused rather than emptied.
fn prepare(root: &Path) -> Result<(), ExhibitionError> {
    if root.exists() {
        let empty = std::fs::read_dir(root)
            .map_err(|e| ExhibitionError::pack(root, e))?
            .next()
            .is_none();
        if !empty && !root.join("bagit.txt").is_file() {
            return Err(ExhibitionError::pack(
                root,
                "exists and is not a pack; choose an empty or new folder",
            ));
        }
        std::fs::remove_dir_all(root).map_err(|e| ExhibitionError::pack(root, e))?;
    }
    std::fs::create_dir_all(root.join("data")).map_err(|e| ExhibitionError::pack(root, e))
}

/// The HLS master playlist, which lists every subtitle rendition.
const HLS_MASTER: &str = "hls/master.m3u8";

/// Whether a site showing `languages` gets the output `name`: subtitles only in its languages.
fn for_site(name: &str, languages: &[String]) -> bool {
    let language = (name
        .strip_prefix("subtitles/")
        .and_then(|n| n.strip_suffix(".vtt")))
    .or_else(|| name.strip_prefix("hls/subtitles-")?.strip_suffix(".m3u8"));
    language.is_none_or(|l| rebase::shows_language(languages, l))
}

fn has_subtitles(receipt: &Receipt) -> bool {
    (receipt.outputs.iter()).any(|o| o.name.as_str().starts_with("subtitles/"))
}

/// Cuts the master playlist at `path` to the site's subtitle renditions.
fn rewrite_playlist(path: &Path, languages: &[String]) -> Result<(), ExhibitionError> {
    let text = std::fs::read_to_string(path).map_err(|e| ExhibitionError::pack(path, e))?;
    write(
        path,
        rebase::keep_playlist_subtitles(&text, languages).as_bytes(),
    )
}

/// Re-addresses the IIIF document at `path` for the site and cuts its language maps to the
/// site's languages (and its subtitles to the site's); returns it as written.
fn rewrite(path: &Path, rebase: &Rebase, languages: &[String]) -> Result<Value, ExhibitionError> {
    let bytes = std::fs::read(path).map_err(|e| ExhibitionError::pack(path, e))?;
    let mut document: Value =
        serde_json::from_slice(&bytes).map_err(|e| ExhibitionError::pack(path, e))?;
    rebase.apply(&mut document);
    keep_languages(&mut document, languages);
    rebase::keep_subtitles(&mut document, languages);
    write(path, &pretty(&document))?;
    Ok(document)
}

/// The store's object `key`, into the file `path` (its folder created).
async fn fetch(store: &Store, key: &str, path: &Path) -> Result<(), ExhibitionError> {
    create_parent(path)?;
    store.get_to_file(key, path).await?;
    Ok(())
}

fn create_parent(path: &Path) -> Result<(), ExhibitionError> {
    match path.parent() {
        Some(parent) => {
            std::fs::create_dir_all(parent).map_err(|e| ExhibitionError::pack(parent, e))
        }
        None => Ok(()),
    }
}

/// `Bag-Software-Agent`: caravan and the viewer's libraries, by version.
fn software_agent() -> String {
    let libraries: Vec<String> = (viewer::libraries().iter())
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    format!(
        "caravan {} (viewer: {})",
        env!("CARGO_PKG_VERSION"),
        libraries.join(", ")
    )
}

fn pretty(value: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("JSON serializes")
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ExhibitionError> {
    create_parent(path)?;
    std::fs::write(path, bytes).map_err(|e| ExhibitionError::pack(path, e))
}

/// Stores every file of the bag under `prefix`, replacing an earlier pack there: its
/// `bagit.txt` is removed first (a pack without one is incomplete), then the payload is
/// stored, objects of the earlier pack that the new one lacks are deleted, and the tag files
/// come last.
async fn upload(store: &Store, root: &Path, prefix: &str) -> Result<(), ExhibitionError> {
    let files = bagit::files_below(root).map_err(|e| ExhibitionError::pack(root, e))?;
    let data = root.join("data");
    let (payload, tags): (Vec<PathBuf>, Vec<PathBuf>) =
        files.into_iter().partition(|f| f.starts_with(&data));
    let key_of = |file: &Path| {
        let relative = file.strip_prefix(root).expect("below the root");
        format!("{prefix}{}", relative.to_string_lossy())
    };
    store.delete(&format!("{prefix}bagit.txt")).await?;
    let never = tokio_util::sync::CancellationToken::new();
    let mut stored = std::collections::BTreeSet::new();
    for file in &payload {
        let key = key_of(file);
        store.put_file(&key, file, media_type(file), &never).await?;
        stored.insert(key);
    }
    let mut tag_keys: Vec<String> = tags.iter().map(|f| key_of(f)).collect();
    for (key, _) in store.list(prefix).await? {
        if !stored.contains(&key) && !tag_keys.contains(&key) {
            store.delete(&key).await?;
        }
    }
    // bagit.txt last of all: its presence says the pack is whole.
    tag_keys.sort_by_key(|k| k.ends_with("/bagit.txt"));
    for key in tag_keys {
        let file = root.join(key.strip_prefix(prefix).expect("built from the prefix"));
        store
            .put_file(&key, &file, media_type(&file), &never)
            .await?;
    }
    Ok(())
}

fn media_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("mp4") => "video/mp4",
        Some("m4s") => "video/iso.segment",
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("vtt") => "text/vtt",
        _ => "application/octet-stream",
    }
}

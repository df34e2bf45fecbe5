//! The asset's IIIF Presentation 3 manifest (`manifest.json`), written after the pipeline from
//! what it made: one Canvas, painted with the access copy and the static IIIF Image service
//! (images) or with a `Choice` of the HLS master playlist and the MP4 (video, with `duration`
//! and the poster as placeholder); `label`, `summary` and `metadata` are language maps from the
//! catalogue; `rights`, `requiredStatement` (the attribution), `provider` and `seeAlso` (the
//! receipt, and its signature when the worker signs) come from the catalogue and the profile.
//!
//! Written with `serde_json` as `iiif/info.json` is: no Rust IIIF crate is kept up (the one on
//! crates.io, `i3f`, is at 0.0.x); the tests load every manifest with IIIF's own Python models
//! (`iiif-prezi3`).

use std::collections::BTreeMap;

use caravan_proto::exec::{ExecOutput, ExecRequest};
use caravan_proto::metadata::TextField;
use caravan_proto::{AssetMetadata, JobKind, OutputName, Profile};
use serde_json::{json, Value};

use crate::{PipelineError, PipelineOutput};

/// The manifest's file name among the outputs.
pub const MANIFEST: &str = "manifest.json";

const CONTEXT: &str = "http://iiif.io/api/presentation/3/context.json";

/// The IIIF Image service of `asset`'s tiles (the `id` of its `iiif/info.json`).
pub fn image_service_id(profile: &Profile, asset: &str) -> String {
    format!("{}/iiif", profile.derivatives_url(asset))
}

/// Writes `manifest.json` into the request's output folder for the outputs in `made`.
pub fn write(request: &ExecRequest, made: &PipelineOutput) -> Result<ExecOutput, PipelineError> {
    let manifest = build(request, made);
    let path = request.out_dir.join(MANIFEST);
    let bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    std::fs::write(&path, bytes).map_err(|source| PipelineError::Output { path, source })?;
    Ok(ExecOutput {
        name: OutputName::parse(MANIFEST).expect("a fixed, valid name"),
        media_type:
            "application/ld+json;profile=\"http://iiif.io/api/presentation/3/context.json\"".into(),
        width: None,
        height: None,
        duration_seconds: None,
    })
}

fn build(request: &ExecRequest, made: &PipelineOutput) -> Value {
    let profile = &request.profile;
    let asset = request
        .asset_id
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), ToString::to_string);
    let base = profile.derivatives_url(&asset);
    let url = |name: &str| format!("{base}/{name}");
    let metadata = &request.metadata;

    let mut label = language_map(metadata, TextField::Title);
    if label.as_object().is_some_and(|m| m.is_empty()) {
        // A manifest must have a label; the asset id is what names an untitled work.
        label = json!({ caravan_proto::metadata::NO_LANGUAGE: [asset] });
    }
    let canvas_id = url("canvas/1");
    let (canvas, thumbnail) = match request.kind {
        JobKind::Image => image_canvas(request, made, &canvas_id, &asset, &url),
        JobKind::Video => video_canvas(made, &canvas_id, &url),
    };
    let mut manifest = json!({
        "@context": CONTEXT,
        "id": url(MANIFEST),
        "type": "Manifest",
        "label": label,
        "items": [canvas],
    });
    let fields = &mut manifest.as_object_mut().expect("an object");
    let summary = language_map(metadata, TextField::Description);
    if !is_empty_map(&summary) {
        fields.insert("summary".into(), summary);
    }
    let entries = metadata_entries(metadata);
    if !entries.is_empty() {
        fields.insert("metadata".into(), Value::Array(entries));
    }
    if let Some(uri) = (metadata.rights_uri.as_deref()).filter(|u| u.starts_with("http")) {
        fields.insert("rights".into(), uri.into());
    }
    let attribution = language_map(metadata, TextField::Attribution);
    if !is_empty_map(&attribution) {
        fields.insert(
            "requiredStatement".into(),
            json!({ "label": { "en": ["Attribution"] }, "value": attribution }),
        );
    }
    if let Some(provider) = &profile.manifest.provider {
        let name: BTreeMap<_, _> = (provider.label.iter())
            .map(|(language, text)| (language.clone(), vec![text.clone()]))
            .collect();
        fields.insert(
            "provider".into(),
            json!([{
                "id": provider.homepage,
                "type": "Agent",
                "label": name,
                "homepage": [{
                    "id": provider.homepage,
                    "type": "Text",
                    "label": name,
                    "format": "text/html",
                }],
            }]),
        );
    }
    if let Some(thumbnail) = thumbnail {
        fields.insert("thumbnail".into(), json!([thumbnail]));
    }
    fields.insert("seeAlso".into(), Value::Array(see_also(request, &asset)));
    manifest
}

fn image_canvas(
    request: &ExecRequest,
    made: &PipelineOutput,
    canvas_id: &str,
    asset: &str,
    url: &dyn Fn(&str) -> String,
) -> (Value, Option<Value>) {
    let find = |name: &str| find(made, name);
    let access = find("access.jpg");
    let dimension = |key: &str, fallback: Option<u32>| {
        (made.master_info.get(key).and_then(Value::as_u64))
            .or(fallback.map(u64::from))
            .unwrap_or(1)
    };
    let width = dimension("width_displayed", access.and_then(|a| a.width));
    let height = dimension("height_displayed", access.and_then(|a| a.height));
    let mut body = match access {
        Some(a) => picture(url, a),
        None => json!({ "id": url("access.jpg"), "type": "Image", "format": "image/jpeg" }),
    };
    if find("iiif/info.json").is_some() {
        body["service"] = json!([{
            "id": image_service_id(&request.profile, asset),
            "type": "ImageService3",
            "profile": "level0",
        }]);
    }
    let canvas = canvas(canvas_id, width, height, None, body);
    (canvas, find("thumb.jpg").map(|t| picture(url, t)))
}

fn video_canvas(
    made: &PipelineOutput,
    canvas_id: &str,
    url: &dyn Fn(&str) -> String,
) -> (Value, Option<Value>) {
    let find = |name: &str| find(made, name);
    let mp4 = find("access.mp4");
    let duration = (mp4.and_then(|m| m.duration_seconds))
        .or_else(|| made.master_info.get("duration_seconds")?.as_f64())
        .filter(|d| *d > 0.0)
        .unwrap_or(1.0);
    // The canvas has the largest picture made (the access copy or the top rung).
    let (width, height) = (made.outputs.iter())
        .filter(|o| o.media_type.starts_with("video/"))
        .filter_map(|o| Some((o.width?, o.height?)))
        .max_by_key(|(w, h)| u64::from(*w) * u64::from(*h))
        .unwrap_or((1, 1));
    let mut choices = Vec::new();
    if find("hls/master.m3u8").is_some() {
        choices.push(json!({
            "id": url("hls/master.m3u8"),
            "type": "Video",
            "format": "application/vnd.apple.mpegurl",
            "duration": duration,
            "width": width,
            "height": height,
        }));
    }
    if let Some(mp4) = mp4 {
        let mut video = json!({
            "id": url(mp4.name.as_str()),
            "type": "Video",
            "format": "video/mp4",
            "duration": duration,
        });
        if let (Some(w), Some(h)) = (mp4.width, mp4.height) {
            video["width"] = w.into();
            video["height"] = h.into();
        }
        choices.push(video);
    }
    let body = match choices.len() {
        1 => choices.remove(0),
        _ => json!({ "type": "Choice", "items": choices }),
    };
    let poster = find(crate::video::stills::POSTER).map(|p| picture(url, p));
    let mut canvas = canvas(canvas_id, width.into(), height.into(), Some(duration), body);
    let captions = subtitles(made, canvas_id, url);
    if !captions.is_empty() {
        canvas["annotations"] = json!([{
            "id": format!("{canvas_id}/subtitles"),
            "type": "AnnotationPage",
            "items": captions,
        }]);
    }
    if let Some(poster) = &poster {
        let (w, h) = (poster["width"].clone(), poster["height"].clone());
        let placeholder_id = format!("{canvas_id}/placeholder");
        let mut placeholder = json!({
            "id": placeholder_id,
            "type": "Canvas",
            "width": w,
            "height": h,
        });
        placeholder["items"] = json!([page(&placeholder_id, poster.clone())]);
        canvas["placeholderCanvas"] = placeholder;
    }
    (canvas, poster)
}

/// The output called `name`, if the pipeline made it.
/// A `supplementing` annotation per WebVTT file (sidecar subtitles), in its language.
fn subtitles(made: &PipelineOutput, canvas_id: &str, url: &dyn Fn(&str) -> String) -> Vec<Value> {
    (made.outputs.iter())
        .filter_map(|o| {
            let language = crate::video::subtitles::language_of(o.name.as_str())?;
            Some(json!({
                "id": format!("{canvas_id}/subtitles/{language}"),
                "type": "Annotation",
                "motivation": "supplementing",
                "body": {
                    "id": url(o.name.as_str()),
                    "type": "Text",
                    "format": "text/vtt",
                    "language": language,
                    "label": { "en": [format!("Subtitles ({language})")] },
                },
                "target": canvas_id,
            }))
        })
        .collect()
}

fn find<'a>(made: &'a PipelineOutput, name: &str) -> Option<&'a ExecOutput> {
    made.outputs.iter().find(|o| o.name.as_str() == name)
}

/// An image output as a IIIF content resource.
fn picture(url: &dyn Fn(&str) -> String, output: &ExecOutput) -> Value {
    let mut resource = json!({
        "id": url(output.name.as_str()),
        "type": "Image",
        "format": output.media_type,
    });
    if let (Some(w), Some(h)) = (output.width, output.height) {
        resource["width"] = w.into();
        resource["height"] = h.into();
    }
    resource
}

fn canvas(id: &str, width: u64, height: u64, duration: Option<f64>, body: Value) -> Value {
    let mut canvas = json!({ "id": id, "type": "Canvas", "width": width, "height": height });
    if let Some(duration) = duration {
        canvas["duration"] = duration.into();
    }
    canvas["items"] = json!([page(id, body)]);
    canvas
}

/// The annotation page painting `body` onto the canvas `canvas_id`.
fn page(canvas_id: &str, body: Value) -> Value {
    json!({
        "id": format!("{canvas_id}/page"),
        "type": "AnnotationPage",
        "items": [{
            "id": format!("{canvas_id}/page/painting"),
            "type": "Annotation",
            "motivation": "painting",
            "body": body,
            "target": canvas_id,
        }],
    })
}

/// `field` in every language of the catalogue row, as a IIIF language map (values are lists).
fn language_map(metadata: &AssetMetadata, field: TextField) -> Value {
    let map: BTreeMap<String, Vec<String>> = (metadata.in_languages(field).into_iter())
        .map(|(language, text)| (language, vec![text]))
        .collect();
    json!(map)
}

fn is_empty_map(value: &Value) -> bool {
    value.as_object().is_none_or(serde_json::Map::is_empty)
}

/// The catalogue's creator, date, rights statement and how the work was made, as label/value
/// pairs (labels in English; values in every language given).
fn metadata_entries(metadata: &AssetMetadata) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut push = |label: &str, value: Value| {
        if !is_empty_map(&value) {
            entries.push(json!({ "label": { "en": [label] }, "value": value }));
        }
    };
    push("Creator", language_map(metadata, TextField::Creator));
    if let Some(date) = &metadata.date {
        push(
            "Date",
            json!({ caravan_proto::metadata::NO_LANGUAGE: [date] }),
        );
    }
    push("Rights", language_map(metadata, TextField::Rights));
    if let Some(kind) = &metadata.digital_source_type {
        push(
            "How it was made",
            json!({ "en": [source_type_phrase(kind)] }),
        );
    }
    entries
}

/// What an IPTC digital source type tells a visitor, in words (AI-generated art must be
/// recognisable as such).
fn source_type_phrase(kind: &str) -> String {
    let words = match kind {
        "trainedAlgorithmicMedia" => "Created by generative AI",
        "compositeWithTrainedAlgorithmicMedia" => "Partly created by generative AI",
        "algorithmicMedia" => "Created by an algorithm, without AI training data",
        "digitalCapture" => "Digitised from the original",
        "digitalArt" => "Made digitally by an artist",
        _ => return format!("IPTC digital source type: {kind}"),
    };
    format!("{words} (IPTC digital source type: {kind})")
}

/// The receipt (and its signature when the worker signs it): how a viewer finds what made
/// the outputs.
fn see_also(request: &ExecRequest, asset: &str) -> Vec<Value> {
    let receipt = request.profile.receipt_url(asset);
    let mut links = vec![json!({
        "id": receipt,
        "type": "Dataset",
        "label": { "en": ["Receipt: master SHA-256, parameters and tool versions"] },
        "format": "application/json",
    })];
    if request.signed {
        links.push(json!({
            "id": format!("{receipt}.sig"),
            "type": "Dataset",
            "label": { "en": ["Ed25519 signature of the receipt"] },
            "format": "application/octet-stream",
        }));
    }
    links
}

#[cfg(test)]
mod tests;

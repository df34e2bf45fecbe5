//! `caravan-media`: the media work. One local master in, files in one local output folder out.
//!
//! # Layout
//! - [`image`]: still masters → access copies, thumbnails and static IIIF tiles. Inside:
//!   `decode/` (one file per kind of master: the `image` crate's formats, JPEG 2000, CMYK ink,
//!   FFmpeg's still decoders, and `tiff/` — header, band-by-band reading, LZW, variants),
//!   `colour/` (ICC → sRGB, CMYK, YCbCr, the sRGB profile every derivative embeds), `limits`,
//!   `resize`, `pyramid`, `iiif`, `access` and `encode`.
//! - [`video`]: video masters → access MP4, HLS ladder, poster, storyboard, preservation copy,
//!   all from one decode. Inside: `probe`, `interlace`, `source`, `picture` (the filter graph
//!   and x264 per rendition), `sound`, `muxer`, `hls`, `subtitles` (sidecar files as
//!   WebVTT and HLS renditions), `preservation`, `stills`.
//! - [`ffmpeg`]: what every FFmpeg graph and input of the pipelines shares (filter-graph
//!   sources, sinks and parsing; opening a master with only local files allowed).
//! - [`watermark`]: logo and text marks (fonts, bidi and shaping, placement).
//! - [`xmp`]: the catalogue's title, creator and rights as an XMP packet.
//! - [`manifest`]: the asset's IIIF Presentation 3 manifest, from what the pipeline made.
//! - [`memory`]: what a process holds in memory (the limit check; the worker's watchdog).
//! - [`run`] dispatches a request by its job kind; [`PipelineError`] says why one failed.
//!
//! # Invariants
//! - No network, no queue, no store, no async runtime: a pipeline reads one local file (and the
//!   profile's logo and font files) and writes into one local folder. This crate depends on
//!   neither tokio, lapin nor the AWS SDK.
//! - A master is decoded once per job, however many outputs it feeds.
//! - The same master and profile give byte-identical outputs in any run: nothing time- or
//!   run-dependent is written into an output.
//! - Untrusted media is decoded by these functions only inside the worker's child process
//!   (`caravan exec-job`), so a crash ends a job, never a worker.
//! - Sizes declared by a header are checked against the profile's limits before pixels are
//!   decoded; errors carry a [`caravan_proto::FailureCode`] and say what to do.

mod error;
pub mod ffmpeg;
pub mod image;
pub mod manifest;
pub mod memory;
mod output;
mod tools;
pub mod video;
pub mod watermark;
pub mod xmp;

pub use error::PipelineError;
pub use output::PipelineOutput;

use caravan_proto::exec::ExecRequest;
use caravan_proto::JobKind;

/// Runs the pipeline `request.kind` asks for. `progress` receives percentages (0–100).
pub fn run(
    request: &ExecRequest,
    progress: &mut dyn FnMut(f32),
) -> Result<PipelineOutput, PipelineError> {
    let mut made = match request.kind {
        JobKind::Image => image::run(request, progress)?,
        JobKind::Video => video::run(
            &request.input,
            &request.out_dir,
            &request.profile,
            &request.metadata,
            progress,
        )?,
    };
    if request.kind == JobKind::Video && !request.subtitles.is_empty() {
        add_subtitles(request, &mut made)?;
    }
    if request.profile.manifest.enabled {
        let manifest = manifest::write(request, &made)?;
        made.outputs.push(manifest);
    }
    Ok(made)
}

/// The master's sidecar subtitles, as WebVTT files, HLS renditions listed in the master
/// playlist (when there is one) and the receipt's record of each sidecar.
fn add_subtitles(request: &ExecRequest, made: &mut PipelineOutput) -> Result<(), PipelineError> {
    let duration = (made.master_info.get("duration_seconds"))
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0);
    let hls = made
        .outputs
        .iter()
        .any(|o| o.name.as_str() == "hls/master.m3u8");
    let (outputs, described) =
        video::subtitles::write(&request.out_dir, &request.subtitles, duration, hls)?;
    if hls {
        let languages: Vec<&str> = request
            .subtitles
            .iter()
            .map(|s| s.language.as_str())
            .collect();
        video::subtitles::add_to_master(&request.out_dir, &languages)?;
    }
    made.outputs.extend(outputs);
    made.master_info
        .insert("subtitles".to_owned(), serde_json::Value::Array(described));
    Ok(())
}

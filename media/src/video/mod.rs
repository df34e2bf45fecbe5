//! The video renditions of a master, all from one decode: the access copy (`access.mp4`:
//! H.264 High 8-bit 4:2:0 + AAC stereo, index at the front, at most `max_height` lines) and the
//! HLS ladder ([`hls`]), with the poster and storyboard ([`stills`]) and, if the profile asks,
//! the preservation copy (`preservation`).
//!
//! - [`probe`]: technical metadata of every stream, for the receipt;
//! - `source`: the video stream opened for decoding, its scan decided by [`interlace`];
//! - `picture`: decode → deinterlace → upright → watermark → split (`picture_graph`) → scale →
//!   x264 (`x264`) for every rendition ([`target`]);
//! - `sound`: the stereo AAC mix, encoded once and written to every rendition (`audio_in`:
//!   an audio stream decoded through a filter graph, shared with the preservation copy);
//! - `muxer`: one output file (MP4, HLS rung or Matroska) and its streams.
//!
//! Frame timing is kept (29.97 stays 30000/1001). Only local files are opened: the `file`
//! protocol alone is allowed and only container formats of real masters, so an input cannot make
//! FFmpeg read a URL or a playlist of other files.

use std::collections::BTreeMap;
use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::{AssetMetadata, OutputName, Profile};
use ff::media;
use ffmpeg_next as ff;

mod audio_in;
pub mod hls;
pub mod interlace;
mod muxer;
mod picture;
mod picture_graph;
mod preservation;
pub mod probe;
mod sound;
mod source;
pub mod stills;
pub mod subtitles;
pub mod target;
mod x264;

use crate::error::PipelineError;
use crate::ffmpeg::input;
use crate::output::PipelineOutput;
use crate::watermark::Watermark;
use muxer::Muxer;
use picture::VideoChain;
use preservation::{Preservation, PRESERVATION_MKV};
use sound::AudioChain;
use source::Source;
use target::{output_size, Target};

const ACCESS_MP4: &str = "access.mp4";

/// Transcodes `input` into the profile's renditions in `out_dir`: `access.mp4` and the HLS
/// ladder below `hls/`, with the poster and storyboard, all from one decode of the master.
pub fn run(
    input: &Path,
    out_dir: &Path,
    profile: &Profile,
    metadata: &AssetMetadata,
    progress: &mut dyn FnMut(f32),
) -> Result<PipelineOutput, PipelineError> {
    ff::init().map_err(|e| PipelineError::Encode(format!("FFmpeg init: {e}")))?;
    ff::util::log::set_level(ff::util::log::Level::Fatal);

    let undecodable = |e: ff::Error| PipelineError::Undecodable {
        format: "video".into(),
        detail: e.to_string(),
    };
    let mut ictx = input::open(input).map_err(undecodable)?;

    let mut info = BTreeMap::new();
    info.insert("container".to_owned(), ictx.format().name().into());
    let duration = if ictx.duration() > 0 {
        ictx.duration() as f64 / f64::from(ff::ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    info.insert("duration_seconds".to_owned(), duration.into());
    if ictx.nb_streams() > profile.limits.max_streams {
        return Err(PipelineError::LimitsExceeded(format!(
            "{} streams (limit {})",
            ictx.nb_streams(),
            profile.limits.max_streams
        )));
    }
    info.insert("technical".to_owned(), probe::describe(&ictx));
    if duration > profile.limits.max_duration_seconds {
        return Err(PipelineError::LimitsExceeded(format!(
            "duration {duration:.0} s (limit {:.0} s)",
            profile.limits.max_duration_seconds
        )));
    }

    let source = {
        let stream = ictx
            .streams()
            .best(media::Type::Video)
            .ok_or(PipelineError::NoVideoStream)?;
        Source::open(input, &stream, profile, &mut info)?
    };
    let mut keep = if profile.video.preservation.enabled {
        let stream = ictx.stream(source.index()).expect("the source is a stream");
        match preservation::already_preserved(&ictx, &stream) {
            Some(reason) => {
                info.insert(
                    "preservation".to_owned(),
                    serde_json::json!({ "made": false, "reason": reason }),
                );
                None
            }
            None => Some(Preservation::new(
                &out_dir.join(PRESERVATION_MKV),
                &ictx,
                &source,
                &profile.video.preservation,
                metadata,
            )?),
        }
    } else {
        None
    };
    let (width, height, sar) = source.upright();
    let frame_rate = source.frame_rate;
    let stored_size = (source.width, source.height);

    // The renditions: the access copy first (stills come from it), then the rungs.
    let mut muxers = Vec::new();
    let mut targets = Vec::new();
    let v = &profile.video;
    if v.access_mp4 {
        let (width, height) = output_size(width, height, sar, v.max_height);
        targets.push(Target {
            muxer: muxers.len(),
            width,
            height,
            max_kbps: None,
            segment_seconds: None,
        });
        muxers.push(Muxer::mp4(&out_dir.join(ACCESS_MP4), ACCESS_MP4, metadata)?);
    }
    let rungs = if v.hls.enabled {
        hls::plan(&v.hls, width, height, sar)
    } else {
        Vec::new()
    };
    let first_rung = targets.len();
    for rung in &rungs {
        targets.push(Target {
            muxer: muxers.len(),
            width: rung.width,
            height: rung.height,
            max_kbps: Some(rung.max_kbps),
            segment_seconds: Some(v.hls.segment_seconds),
        });
        let label = format!("hls/{}", rung.name());
        muxers.push(Muxer::hls(
            &rung.playlist(out_dir),
            &label,
            v.hls.segment_seconds,
        )?);
    }
    let watermark = Watermark::prepare(&v.watermark)?;
    if let Some(mark) = &watermark {
        info.insert("watermark".to_owned(), mark.described.clone());
    }
    let mut video = VideoChain::new(
        source,
        targets,
        watermark.as_ref(),
        &mut muxers,
        profile,
        duration,
    )?;
    let mut audio = match ictx.streams().best(media::Type::Audio) {
        Some(stream) => Some(AudioChain::new(&stream, &mut muxers, profile, &mut info)?),
        None => None,
    };
    for muxer in &mut muxers {
        muxer.write_header()?;
    }

    let mut last_percent = -1.0f32;
    while let Some(packet) = input::next_packet(&mut ictx, 1000) {
        if packet.stream() == video.stream_index() {
            video.decode(&packet, &mut muxers, keep.as_mut())?;
            if duration > 0.0 {
                let percent = ((video.last_seconds / duration) * 100.0).clamp(0.0, 99.0) as f32;
                if percent - last_percent >= 1.0 {
                    last_percent = percent;
                    progress(percent);
                }
            }
        } else {
            if let Some(a) = audio.as_mut().filter(|a| packet.stream() == a.in_index()) {
                a.decode(&packet, &mut muxers)?;
            }
            if let Some(keep) = keep.as_mut() {
                keep.packet(&packet)?;
            }
        }
    }
    video.finish(&mut muxers, keep.as_mut())?;
    if let Some(a) = audio.as_mut() {
        a.finish(&mut muxers)?;
    }
    if video.frames_encoded() == 0 {
        return Err(PipelineError::Undecodable {
            format: "video".into(),
            detail: format!(
                "no frame of the video stream could be decoded ({} damaged packets)",
                video.decode_errors
            ),
        });
    }
    let decoded_to = video.last_seconds + video.frame_seconds();
    if duration > 0.0 && decoded_to < duration * 0.95 - 0.5 {
        return Err(PipelineError::Undecodable {
            format: "video".into(),
            detail: format!(
                "the video stream ends at {decoded_to:.1} s of the {duration:.1} s the container declares (truncated or damaged)"
            ),
        });
    }
    for muxer in &mut muxers {
        muxer.finish()?;
    }
    let kept = match keep.as_mut() {
        Some(keep) => {
            info.insert("preservation".to_owned(), keep.finish()?);
            true
        }
        None => false,
    };
    info.insert("decode_errors".to_owned(), video.decode_errors.into());
    if let Some(loudness) = audio.as_ref().and_then(AudioChain::loudness) {
        info.insert("access_audio_loudness".to_owned(), loudness);
    }
    progress(100.0);

    let encoded_seconds =
        (video.last_seconds - video.first_seconds.unwrap_or(0.0) + video.frame_seconds()).max(0.0);
    let mut outputs = Vec::new();
    if v.access_mp4 {
        let (width, height) = video.size(0);
        outputs.push(ExecOutput {
            name: OutputName::parse(ACCESS_MP4).expect("fixed output names are valid"),
            media_type: "video/mp4".into(),
            width: Some(width),
            height: Some(height),
            duration_seconds: Some(encoded_seconds),
        });
    }
    if kept {
        outputs.push(ExecOutput {
            name: OutputName::parse(PRESERVATION_MKV).expect("fixed output names are valid"),
            media_type: "video/x-matroska".into(),
            width: Some(stored_size.0),
            height: Some(stored_size.1),
            duration_seconds: Some(encoded_seconds),
        });
    }
    if !rungs.is_empty() {
        let made: Vec<hls::Made> = rungs
            .into_iter()
            .enumerate()
            .map(|(k, rung)| {
                let video_codec = hls::encoder_codec_string(video.encoder(first_rung + k))
                    .unwrap_or_else(|| "avc1.640028".into());
                hls::Made { rung, video_codec }
            })
            .collect();
        let (files, ladder) = hls::finish(out_dir, &made, frame_rate, audio.is_some())?;
        outputs.extend(files);
        info.insert("hls_ladder".to_owned(), ladder);
    }
    let xmp = crate::xmp::packet(metadata);
    outputs.extend(
        video
            .stills
            .write(out_dir, profile, encoded_seconds, xmp.as_deref())?,
    );
    Ok(PipelineOutput {
        outputs,
        tools: crate::tools::video_tools(),
        master_info: info,
    })
}

//! The video renditions of a master, all from one decode: the access copy (`access.mp4`:
//! H.264 High 8-bit 4:2:0 + AAC stereo, index at the front, at most `max_height` lines) and the
//! HLS ladder ([`hls`]), with the poster and storyboard ([`crate::pipeline::stills`]).
//!
//! - [`picture`]: decode, deinterlace, split, scale and encode the pictures of every rendition;
//! - [`sound`]: the stereo AAC mix, encoded once and written to every rendition;
//! - [`muxer`]: one output file (MP4 or HLS rung) and its streams.
//!
//! Frame timing is kept (29.97 stays 30000/1001). Only local files are opened: the `file`
//! protocol alone is allowed and only container formats of real masters, so an input cannot make
//! FFmpeg read a URL or a playlist of other files.

use std::collections::BTreeMap;
use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::{AssetMetadata, OutputName, Profile};
use ff::{filter, format, frame, media, Dictionary, Packet};
use ffmpeg_next as ff;

use super::watermark::Watermark;
use super::{PipelineError, PipelineOutput};
mod audio_in;
pub mod hls;
mod muxer;
mod picture;
mod preservation;
mod sound;

use muxer::Muxer;
use picture::{Source, Target, VideoChain};
use preservation::{Preservation, PRESERVATION_MKV};
use sound::AudioChain;

/// Demuxers a master may use; anything else (playlists, concat lists, images) is refused.
const ALLOWED_DEMUXERS: &str =
    "matroska,webm,mov,mp4,m4a,3gp,3g2,mj2,avi,dv,mxf,mpegts,mpeg,ogg,flv,wav,aiff";

const ACCESS_MP4: &str = "access.mp4";

/// The next packet of the master, in a fresh packet (`av_read_frame` does not release what a
/// reused packet held: one packet across reads leaked every packet of the master, measured at
/// 73 MiB per second of a 1080p FFV1 master). Damaged regions are skipped; `None` at the end, or
/// after `max_damaged` damaged reads in a row (a file that is only damage).
pub(crate) fn next_packet(ictx: &mut format::context::Input, max_damaged: u32) -> Option<Packet> {
    let mut damaged = 0;
    loop {
        let mut packet = Packet::empty();
        match packet.read(ictx) {
            Ok(()) => return Some(packet),
            Err(ff::Error::Eof) => return None,
            Err(_) if damaged < max_damaged => damaged += 1,
            Err(_) => return None,
        }
    }
}

/// The next frame out of `graph`'s sink named `sink`, in a fresh frame (the sink moves its frame into
/// the one it is given without releasing what that one held, as `av_read_frame` does).
pub(crate) fn next_frame<F>(graph: &mut filter::Graph, sink: &str, mut empty: F) -> Option<F>
where
    F: std::ops::DerefMut<Target = frame::Frame>,
{
    let mut sink = graph.get(sink).expect("sink was added");
    sink.sink().frame(&mut empty).ok().map(|()| empty)
}

/// The arguments of a `buffer` source for frames of this size, pixel format, time base and
/// sample aspect ratio.
pub(crate) fn buffer_args(
    (width, height): (u32, u32),
    pixel_format: format::Pixel,
    time_base: ff::Rational,
    sar: ff::Rational,
) -> String {
    let pix_fmt: ff::ffi::AVPixelFormat = pixel_format.into();
    format!(
        "video_size={width}x{height}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        pix_fmt as i32,
        time_base.numerator(),
        time_base.denominator().max(1),
        sar.numerator().max(1),
        sar.denominator().max(1)
    )
}

/// The arguments of an `abuffer` source for audio frames of this rate, sample format and
/// channel layout.
pub(crate) fn abuffer_args(
    time_base: ff::Rational,
    rate: u32,
    sample_format: format::Sample,
    layout: ff::ChannelLayout,
) -> String {
    format!(
        "time_base={}/{}:sample_rate={rate}:sample_fmt={}:channel_layout=0x{:x}",
        time_base.numerator(),
        time_base.denominator().max(1),
        sample_format.name(),
        layout.bits()
    )
}

/// Sends `frame` into `graph`'s source `in`.
pub(crate) fn feed(graph: &mut filter::Graph, frame: &frame::Frame) -> Result<(), ff::Error> {
    graph
        .get("in")
        .expect("source was added")
        .source()
        .add(frame)
}

/// Tells `graph`'s source `in` that no more frames come, so its filters release what they hold.
pub(crate) fn end_input(graph: &mut filter::Graph) {
    let _ = graph.get("in").expect("source was added").source().flush();
}

/// Parses `spec` into `graph`, linking its labels to the filters already in the graph: each name
/// of `sources` (buffer sources) as an open output, each of `sinks` as an open input.
/// Every filter graph of the pipelines is parsed here (ffmpeg-next's `Parser` keeps only the
/// first and last of three or more labels).
pub(crate) fn parse_graph(
    graph: &mut filter::Graph,
    sources: &[&str],
    sinks: &[&str],
    spec: &str,
) -> Result<(), ff::Error> {
    use ff::ffi::{av_strdup, avfilter_graph_parse_ptr, avfilter_inout_alloc, avfilter_inout_free};
    /// A list of `AVFilterInOut` in the order of `names`.
    fn in_outs(
        graph: &mut filter::Graph,
        names: &[&str],
    ) -> Result<*mut ff::ffi::AVFilterInOut, ff::Error> {
        let mut head: *mut ff::ffi::AVFilterInOut = std::ptr::null_mut();
        for name in names.iter().rev() {
            let context = graph.get(name);
            let label = std::ffi::CString::new(*name).map_err(|_| ff::Error::InvalidData);
            // SAFETY: a fresh AVFilterInOut, filled and linked before anything reads it; on
            // error the list built so far is freed.
            unsafe {
                let (Some(mut context), Ok(label)) = (context, label) else {
                    avfilter_inout_free(&mut head);
                    return Err(ff::Error::InvalidData);
                };
                let item = avfilter_inout_alloc();
                assert!(!item.is_null(), "out of memory");
                (*item).name = av_strdup(label.as_ptr());
                (*item).filter_ctx = context.as_mut_ptr();
                (*item).pad_idx = 0;
                (*item).next = head;
                head = item;
            }
        }
        Ok(head)
    }
    let mut outputs = in_outs(graph, sources)?;
    let mut inputs = match in_outs(graph, sinks) {
        Ok(list) => list,
        Err(e) => {
            // SAFETY: the list built above, not yet handed to FFmpeg.
            unsafe { avfilter_inout_free(&mut outputs) };
            return Err(e);
        }
    };
    let spec = std::ffi::CString::new(spec).map_err(|_| ff::Error::InvalidData)?;
    // SAFETY: the graph is alive; the lists are ours and freed after parsing (FFmpeg leaves in
    // them what it did not link).
    let result = unsafe {
        let result = avfilter_graph_parse_ptr(
            graph.as_mut_ptr(),
            spec.as_ptr(),
            &mut inputs,
            &mut outputs,
            std::ptr::null_mut(),
        );
        avfilter_inout_free(&mut inputs);
        avfilter_inout_free(&mut outputs);
        result
    };
    if result < 0 {
        Err(ff::Error::from(result))
    } else {
        Ok(())
    }
}

/// Local files in the containers of real masters, nothing else.
fn open_options() -> Dictionary<'static> {
    let mut options = Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", ALLOWED_DEMUXERS);
    options
}

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
    let mut ictx = format::input_with_dictionary(&input, open_options()).map_err(undecodable)?;

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
    info.insert("technical".to_owned(), super::probe::describe(&ictx));
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
    while let Some(packet) = next_packet(&mut ictx, 1000) {
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
    let xmp = super::xmp::packet(metadata);
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

/// The output frame size: pixels made square (width × SAR), at most `max_height` lines, both
/// dimensions even as 4:2:0 needs.
pub fn output_size(width: u32, height: u32, sar: (i32, i32), max_height: u32) -> (u32, u32) {
    let (num, den) = if sar.0 > 0 && sar.1 > 0 { sar } else { (1, 1) };
    let display_width = f64::from(width) * f64::from(num) / f64::from(den);
    let out_height = (height.min(max_height) / 2 * 2).max(2);
    let out_width =
        (display_width * f64::from(out_height) / f64::from(height) / 2.0).round() as u32 * 2;
    (out_width.max(2), out_height)
}

#[cfg(test)]
mod tests;

//! The pictures of the video renditions: the master's video stream decoded once, deinterlaced
//! once when the source is interlaced (flags, detection or raster: [`crate::pipeline::interlace`]),
//! then split in one filter graph into one scaled branch per rendition (the access copy, each
//! HLS rung), each encoded by its own x264 into its own muxer.
//!
//! Every rendition has square pixels with the display aspect kept, 8-bit 4:2:0 and colour tags
//! for its class: BT.709 when the largest rendition is HD (over 576 lines), BT.601 otherwise, so
//! all renditions of one master carry the same matrix. HLS rungs get keyframes forced at every
//! segment boundary (and no scene-cut keyframes), so all rungs cut at the same instants.

use std::collections::BTreeMap;
use std::path::Path;

use caravan_proto::Profile;
use ff::{codec, filter, format, frame, Dictionary, Packet, Rational};
use ffmpeg_next as ff;

use super::muxer::Muxer;
use super::preservation::Preservation;
use super::{next_frame, open_options};
use crate::pipeline::interlace::{self, Decision};
use crate::pipeline::stills::Stills;
use crate::pipeline::watermark::Watermark;
use crate::pipeline::PipelineError;

/// The master's video stream, opened for decoding and described.
pub(super) struct Source {
    index: usize,
    time_base: Rational,
    decoder: codec::decoder::Video,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) sar: Rational,
    pub(super) frame_rate: Rational,
    scan: Decision,
    /// Degrees the pictures are turned clockwise to be upright (0, 90, 180 or 270), from the
    /// container's display matrix (phones record sideways and say so there).
    pub(super) rotation: u16,
}

impl Source {
    /// Opens the decoder of `stream`, checks the frame size against the limits, decides how the
    /// stream is scanned, and records what it found in `info`.
    pub(super) fn open(
        input: &Path,
        stream: &format::stream::Stream,
        profile: &Profile,
        info: &mut BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, PipelineError> {
        let undecodable = |e: ff::Error| PipelineError::Undecodable {
            format: "video".into(),
            detail: e.to_string(),
        };
        let mut context =
            codec::context::Context::from_parameters(stream.parameters()).map_err(undecodable)?;
        // Automatic thread count, frame and slice threads, as the ffmpeg CLI uses (FFV1 masters
        // are cut into slices); `set_threading` takes one kind only.
        // SAFETY: plain fields of the codec context, set before the decoder is opened.
        unsafe {
            let ctx = context.as_mut_ptr();
            (*ctx).thread_count = 0;
            (*ctx).thread_type = ff::ffi::FF_THREAD_FRAME | ff::ffi::FF_THREAD_SLICE;
        }
        let decoder = context.decoder().video().map_err(undecodable)?;
        let (width, height) = (decoder.width(), decoder.height());
        let limits = &profile.limits;
        if width == 0 || height == 0 {
            return Err(PipelineError::Undecodable {
                format: "video".into(),
                detail: "the video stream declares no frame size".into(),
            });
        }
        if width > limits.max_dimension
            || height > limits.max_dimension
            || u64::from(width) * u64::from(height) > limits.max_pixels
        {
            return Err(PipelineError::LimitsExceeded(format!(
                "{width}×{height} video frames"
            )));
        }
        // Containers (Matroska, MOV) carry the aspect on the stream; fall back to the bitstream's.
        // SAFETY: reading a plain field of the stream, which outlives this call.
        let stream_sar: Rational = unsafe { (*stream.as_ptr()).sample_aspect_ratio }.into();
        let valid = |r: Rational| r.numerator() > 0 && r.denominator() > 0;
        let sar = [stream_sar, decoder.aspect_ratio()]
            .into_iter()
            .find(|r| valid(*r))
            .unwrap_or(Rational(1, 1));
        // SAFETY: reading a plain field of the stream's codec parameters, which outlive this call.
        let field_order = unsafe { (*stream.parameters().as_ptr()).field_order };
        let time_base = stream.time_base();
        let frame_rate = stream.avg_frame_rate();
        let pixel_format = decoder.format();
        let scan = interlace::decide(
            input,
            open_options(),
            interlace::StreamFacts {
                index: stream.index(),
                field_order,
                width,
                height,
                frame_rate,
                time_base,
                sar,
                pixel_format,
            },
        );
        let rotation = rotation_of(stream);
        if rotation != 0 {
            info.insert("rotation_degrees".into(), rotation.into());
        }
        info.insert("scan".into(), scan.to_json());
        info.insert("video_codec".into(), decoder.id().name().into());
        info.insert(
            "pixel_format".into(),
            format!("{pixel_format:?}").to_lowercase().into(),
        );
        info.insert("width".into(), width.into());
        info.insert("height".into(), height.into());
        info.insert(
            "sample_aspect_ratio".into(),
            format!("{}:{}", sar.numerator(), sar.denominator()).into(),
        );
        info.insert("field_order".into(), format!("{field_order:?}").into());
        info.insert(
            "frame_rate".into(),
            format!("{}/{}", frame_rate.numerator(), frame_rate.denominator()).into(),
        );
        Ok(Self {
            index: stream.index(),
            time_base,
            decoder,
            width,
            height,
            sar,
            frame_rate,
            scan,
            rotation,
        })
    }

    /// The pictures as shown: stored size and aspect, turned by [`Self::rotation`].
    pub(super) fn upright(&self) -> (u32, u32, (i32, i32)) {
        let sar = (self.sar.numerator(), self.sar.denominator());
        match self.rotation {
            90 | 270 => (self.height, self.width, (sar.1, sar.0)),
            _ => (self.width, self.height, sar),
        }
    }

    /// The index of the stream in the master.
    pub(super) fn index(&self) -> usize {
        self.index
    }

    /// The pixel format the decoder produces.
    pub(super) fn pixel_format(&self) -> format::Pixel {
        self.decoder.format()
    }

    /// Seconds per frame at the stream's average rate (0 when it declares none).
    pub(super) fn frame_seconds(&self) -> f64 {
        if self.frame_rate.numerator() > 0 {
            f64::from(self.frame_rate.denominator()) / f64::from(self.frame_rate.numerator())
        } else {
            0.0
        }
    }
}

/// What one rendition is: its frame size, its muxer and, for HLS rungs, its bitrate cap and
/// segment length.
pub(super) struct Target {
    pub(super) muxer: usize,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) max_kbps: Option<u32>,
    pub(super) segment_seconds: Option<f64>,
}

/// One H.264 encoding of the decoded pictures.
struct Rendition {
    target: Target,
    /// The filter graph's sink this rendition's frames come out of.
    sink: String,
    encoder: codec::encoder::Video,
    /// For HLS rungs: the first frame's pts and how many segment boundaries have started.
    first_pts: Option<i64>,
    boundaries_passed: i64,
    frames: u64,
    /// One frame at the stream's average rate, in the encoder's time base (0 if unknown).
    frame_duration: i64,
}

/// Decoder → (deinterlace) → split → per rendition: scale → x264 → muxer.
pub(super) struct VideoChain {
    source: Source,
    enc_time_base: Rational,
    graph: filter::Graph,
    renditions: Vec<Rendition>,
    pub(super) decode_errors: u64,
    next_pts: i64,
    pub(super) first_seconds: Option<f64>,
    pub(super) last_seconds: f64,
    /// The poster and storyboard, taken from the first rendition's frames.
    pub(super) stills: Stills,
}

impl VideoChain {
    /// `targets` in order, the first being the one stills are taken from; each adds a video
    /// stream to its muxer.
    pub(super) fn new(
        source: Source,
        targets: Vec<Target>,
        watermark: Option<&Watermark>,
        muxers: &mut [Muxer],
        profile: &Profile,
        duration: f64,
    ) -> Result<Self, PipelineError> {
        let hd = targets.iter().map(|t| t.height).max().unwrap_or(0) > 576;
        let overlay = match watermark {
            Some(mark) => {
                let (width, height, sar) = source.upright();
                let display_width = super::output_size(width, height, sar, height).0;
                mark.video_overlay(display_width, height, width)?
            }
            None => None,
        };
        let mut graph = build_graph(&source, &targets, overlay, hd)?;
        // Filters may change the time base (yadif doubles its resolution): encode in the sink's.
        // SAFETY: the sink context belongs to the validated graph, which is alive.
        let enc_time_base: Rational = unsafe {
            ff::ffi::av_buffersink_get_time_base(
                graph.get("out0").expect("sink was added").as_ptr(),
            )
        }
        .into();
        let rate = source.frame_rate;
        let frame_duration = if rate.numerator() > 0 && rate.denominator() > 0 {
            ff::Rescale::rescale(&1i64, rate.invert(), enc_time_base)
        } else {
            0
        };
        let mut renditions = Vec::with_capacity(targets.len());
        for (k, target) in targets.into_iter().enumerate() {
            let muxer = &mut muxers[target.muxer];
            let (codec, encoder) = open_x264(
                &target,
                enc_time_base,
                source.frame_rate,
                hd,
                profile,
                muxer.global_header(),
            )?;
            muxer.add_video(codec, &encoder, enc_time_base)?;
            renditions.push(Rendition {
                target,
                sink: format!("out{k}"),
                encoder,
                first_pts: None,
                boundaries_passed: 0,
                frames: 0,
                frame_duration,
            });
        }
        Ok(Self {
            source,
            enc_time_base,
            graph,
            renditions,
            decode_errors: 0,
            next_pts: 0,
            first_seconds: None,
            last_seconds: 0.0,
            stills: Stills::new(profile, duration, hd),
        })
    }

    pub(super) fn stream_index(&self) -> usize {
        self.source.index
    }

    pub(super) fn frame_seconds(&self) -> f64 {
        self.source.frame_seconds()
    }

    /// Frames encoded into the first rendition.
    pub(super) fn frames_encoded(&self) -> u64 {
        self.renditions.first().map_or(0, |r| r.frames)
    }

    /// The width and height of rendition `k`.
    pub(super) fn size(&self, k: usize) -> (u32, u32) {
        let t = &self.renditions[k].target;
        (t.width, t.height)
    }

    /// The encoder of rendition `k`, for what its headers say (HLS `CODECS`).
    pub(super) fn encoder(&self, k: usize) -> &codec::encoder::Video {
        &self.renditions[k].encoder
    }

    /// Decodes `packet` and sends its pictures through every rendition, and first, untouched,
    /// to the preservation copy `keep`.
    pub(super) fn decode(
        &mut self,
        packet: &Packet,
        muxers: &mut [Muxer],
        keep: Option<&mut Preservation>,
    ) -> Result<(), PipelineError> {
        if self.source.decoder.send_packet(packet).is_err() {
            self.decode_errors += 1;
            return Ok(());
        }
        self.drain_decoder(muxers, keep)
    }

    fn drain_decoder(
        &mut self,
        muxers: &mut [Muxer],
        mut keep: Option<&mut Preservation>,
    ) -> Result<(), PipelineError> {
        let mut decoded = frame::Video::empty();
        while self.source.decoder.receive_frame(&mut decoded).is_ok() {
            let pts = decoded
                .timestamp()
                .filter(|&p| p >= self.next_pts)
                .unwrap_or(self.next_pts);
            self.next_pts = pts + 1;
            decoded.set_pts(Some(pts));
            let seconds = pts as f64 * f64::from(self.source.time_base);
            self.first_seconds.get_or_insert(seconds);
            self.last_seconds = seconds;
            // Before the graph: its source takes the frame's buffers.
            if let Some(keep) = keep.as_deref_mut() {
                keep.picture(&decoded)?;
            }
            if super::feed(&mut self.graph, &decoded).is_err() {
                // A frame whose size or format changed mid-stream: count it as damage.
                self.decode_errors += 1;
                continue;
            }
            self.drain_graph(muxers)?;
        }
        Ok(())
    }

    /// Encodes every frame waiting at any sink (split queues a frame at every branch).
    fn drain_graph(&mut self, muxers: &mut [Muxer]) -> Result<(), PipelineError> {
        let time_base = self.enc_time_base;
        for (k, r) in self.renditions.iter_mut().enumerate() {
            while let Some(mut filtered) =
                next_frame(&mut self.graph, &r.sink, frame::Video::empty())
            {
                if k == 0 {
                    let seconds = filtered
                        .pts()
                        .map_or(self.last_seconds, |pts| pts as f64 * f64::from(time_base));
                    self.stills.offer(&filtered, seconds)?;
                }
                let key = r.segment_starts(filtered.pts(), time_base);
                filtered.set_kind(if key {
                    ff::picture::Type::I
                } else {
                    ff::picture::Type::None
                });
                r.encoder
                    .send_frame(&filtered)
                    .map_err(|e| PipelineError::Encode(format!("x264: {e}")))?;
                r.frames += 1;
                r.drain_encoder(&mut muxers[r.target.muxer], time_base)?;
            }
        }
        Ok(())
    }

    pub(super) fn finish(
        &mut self,
        muxers: &mut [Muxer],
        keep: Option<&mut Preservation>,
    ) -> Result<(), PipelineError> {
        let _ = self.source.decoder.send_eof();
        self.drain_decoder(muxers, keep)?;
        super::end_input(&mut self.graph);
        self.drain_graph(muxers)?;
        let time_base = self.enc_time_base;
        for r in &mut self.renditions {
            let _ = r.encoder.send_eof();
            r.drain_encoder(&mut muxers[r.target.muxer], time_base)?;
        }
        Ok(())
    }
}

impl Rendition {
    /// Whether the frame at `pts` is the first at or after the next segment boundary (always
    /// false for renditions without segments). Boundaries are whole multiples of the segment
    /// length from the first frame, compared exactly in the time base.
    fn segment_starts(&mut self, pts: Option<i64>, time_base: Rational) -> bool {
        let (Some(seconds), Some(pts)) = (self.target.segment_seconds, pts) else {
            return false;
        };
        let first = *self.first_pts.get_or_insert(pts);
        let elapsed = (pts - first) as f64 * f64::from(time_base.numerator());
        let boundary = |k: i64| k as f64 * seconds * f64::from(time_base.denominator());
        if elapsed < boundary(self.boundaries_passed) {
            return false;
        }
        while elapsed >= boundary(self.boundaries_passed) {
            self.boundaries_passed += 1;
        }
        true
    }

    fn drain_encoder(
        &mut self,
        muxer: &mut Muxer,
        time_base: Rational,
    ) -> Result<(), PipelineError> {
        let mut encoded = Packet::empty();
        while self.encoder.receive_packet(&mut encoded).is_ok() {
            // x264 leaves durations unset; fragmented MP4 needs them (each fragment's start is
            // the sum of the durations before it: a fragment would start a frame early).
            if encoded.duration() == 0 {
                encoded.set_duration(self.frame_duration);
            }
            muxer.write_video(&mut encoded, time_base)?;
        }
        Ok(())
    }
}

/// Degrees clockwise that turn `stream`'s pictures upright, from its display matrix, to the
/// nearest quarter turn (0 when there is none, or it is not within 2° of one).
fn rotation_of(stream: &format::stream::Stream) -> u16 {
    let Some(matrix) = stream
        .side_data()
        .find(|d| d.kind() == ff::codec::packet::side_data::Type::DisplayMatrix)
        .filter(|d| d.data().len() >= 36)
    else {
        return 0;
    };
    // SAFETY: nine 32-bit integers, as av_display_rotation_get reads.
    let counter_clockwise =
        unsafe { ff::ffi::av_display_rotation_get(matrix.data().as_ptr().cast()) };
    if !counter_clockwise.is_finite() {
        return 0;
    }
    let clockwise = (-counter_clockwise).rem_euclid(360.0);
    let quarter = (clockwise / 90.0).round();
    if (clockwise - quarter * 90.0).abs() > 2.0 {
        return 0;
    }
    (quarter as u16 % 4) * 90
}

/// `in` → (yadif) → (upright) → (watermark overlay) → split → per target `k`: scale, square pixels, 4:2:0 →
/// sink `out{k}`. The overlay's picture enters through its own source, `logo`, as one frame
/// that stays on screen to the end.
fn build_graph(
    source: &Source,
    targets: &[Target],
    overlay: Option<(image::RgbaImage, u32, u32)>,
    hd: bool,
) -> Result<filter::Graph, PipelineError> {
    let filter_err = |e: ff::Error| PipelineError::Encode(format!("video filter graph: {e}"));
    let mut graph = filter::Graph::new();
    let args = super::buffer_args(
        (source.width, source.height),
        source.decoder.format(),
        source.time_base,
        source.sar,
    );
    graph
        .add(
            &filter::find("buffer").expect("FFmpeg has the buffer filter"),
            "in",
            &args,
        )
        .map_err(filter_err)?;
    let sink = filter::find("buffersink").expect("FFmpeg has the buffersink filter");
    for k in 0..targets.len() {
        let name = format!("out{k}");
        graph.add(&sink, &name, "").map_err(filter_err)?;
        graph
            .get(&name)
            .expect("sink was added")
            .set_pixel_format(format::Pixel::YUV420P);
    }
    let deinterlace = if source.scan.interlaced.is_some() {
        format!(
            "yadif=mode=send_frame:parity={}:deint=all",
            source.scan.parity()
        )
    } else {
        "null".to_owned()
    };
    let upright = match source.rotation {
        90 => "transpose=clock",
        180 => "hflip,vflip",
        270 => "transpose=cclock",
        _ => "null",
    };
    let mut spec = format!("[in]{deinterlace},{upright}[pictures];");
    if let Some((logo, x, y)) = &overlay {
        let args = super::buffer_args(
            logo.dimensions(),
            format::Pixel::RGBA,
            source.time_base,
            Rational(1, 1),
        );
        graph
            .add(
                &filter::find("buffer").expect("FFmpeg has the buffer filter"),
                "logo",
                &args,
            )
            .map_err(filter_err)?;
        spec.push_str(&format!(
            "[pictures][logo]overlay=x={x}:y={y}:format=auto:eof_action=repeat[marked];"
        ));
    } else {
        spec.push_str("[pictures]null[marked];");
    }
    let matrix = if hd { "bt709" } else { "bt601" };
    let branches: String = (0..targets.len()).map(|k| format!("[s{k}]")).collect();
    spec.push_str(&format!("[marked]split={}{branches}", targets.len()));
    for (k, t) in targets.iter().enumerate() {
        spec.push_str(&format!(
            ";[s{k}]scale={}:{}:flags=bicubic:out_color_matrix={matrix}:out_range=tv,setsar=1,format=yuv420p[out{k}]",
            t.width, t.height
        ));
    }
    let mut sources = vec!["in"];
    if overlay.is_some() {
        sources.push("logo");
    }
    let sinks: Vec<String> = (0..targets.len()).map(|k| format!("out{k}")).collect();
    let sinks: Vec<&str> = sinks.iter().map(String::as_str).collect();
    super::parse_graph(&mut graph, &sources, &sinks, &spec)
        .and_then(|()| graph.validate())
        .map_err(|e| PipelineError::Encode(format!("video filter graph {spec:?}: {e}")))?;
    if let Some((logo, _, _)) = &overlay {
        let mut frame = frame::Video::new(format::Pixel::RGBA, logo.width(), logo.height());
        let stride = frame.stride(0);
        let row = logo.width() as usize * 4;
        for (y, line) in logo.as_raw().chunks_exact(row).enumerate() {
            frame.data_mut(0)[y * stride..y * stride + row].copy_from_slice(line);
        }
        // Before any picture, so that the first one is marked too; then the end of the logo's
        // stream: the overlay repeats its one frame.
        frame.set_pts(Some(-(1 << 40)));
        let mut logo_source = graph.get("logo").expect("logo source was added");
        logo_source.source().add(&frame).map_err(filter_err)?;
        logo_source.source().flush().map_err(filter_err)?;
    }
    Ok(graph)
}

/// An x264 encoder for `target`: High profile, the profile's preset and CRF; for HLS rungs a
/// VBV cap and no scene-cut keyframes (keyframes come at segment boundaries).
fn open_x264(
    target: &Target,
    time_base: Rational,
    frame_rate: Rational,
    hd: bool,
    profile: &Profile,
    global_header: bool,
) -> Result<(ff::Codec, codec::encoder::Video), PipelineError> {
    let h264 = ff::encoder::find_by_name("libx264").ok_or_else(|| {
        PipelineError::Encode(
            "this FFmpeg has no libx264 encoder; install Debian's libavcodec (built with x264)"
                .into(),
        )
    })?;
    let mut encoder = codec::context::Context::new_with_codec(h264)
        .encoder()
        .video()
        .map_err(|e| PipelineError::Encode(format!("H.264 encoder: {e}")))?;
    // An automatic thread count, as the ffmpeg CLI sets.
    encoder.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    encoder.set_width(target.width);
    encoder.set_height(target.height);
    encoder.set_format(format::Pixel::YUV420P);
    encoder.set_time_base(time_base);
    let rate_known = frame_rate.numerator() > 0 && frame_rate.denominator() > 0;
    if rate_known {
        encoder.set_frame_rate(Some(frame_rate));
    }
    encoder.set_aspect_ratio(Rational(1, 1));
    encoder.set_color_range(ff::util::color::Range::MPEG);
    encoder.set_colorspace(if hd {
        ff::util::color::Space::BT709
    } else {
        ff::util::color::Space::SMPTE170M
    });
    // SAFETY: plain enum fields of the encoder context, set before it is opened.
    unsafe {
        let ctx = encoder.as_mut_ptr();
        if hd {
            (*ctx).color_primaries = ff::ffi::AVColorPrimaries::AVCOL_PRI_BT709;
            (*ctx).color_trc = ff::ffi::AVColorTransferCharacteristic::AVCOL_TRC_BT709;
        } else {
            (*ctx).color_primaries = ff::ffi::AVColorPrimaries::AVCOL_PRI_SMPTE170M;
            (*ctx).color_trc = ff::ffi::AVColorTransferCharacteristic::AVCOL_TRC_SMPTE170M;
        }
    }
    if global_header {
        encoder.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut x264 = Dictionary::new();
    x264.set("preset", &profile.video.preset);
    x264.set("crf", &profile.video.crf.to_string());
    x264.set("profile", "high");
    if let Some(kbps) = target.max_kbps {
        let bits = i64::from(kbps) * 1000;
        encoder.set_max_bit_rate(bits as usize);
        // SAFETY: a plain field of the encoder context, set before it is opened.
        unsafe {
            (*encoder.as_mut_ptr()).rc_buffer_size = (2 * bits).min(i64::from(i32::MAX)) as i32
        };
    }
    if let Some(seconds) = target.segment_seconds {
        // A bound only: forced keyframes at segment boundaries come first.
        let fps = if rate_known {
            f64::from(frame_rate)
        } else {
            30.0
        };
        encoder.set_gop((2.0 * seconds * fps).ceil().max(1.0) as u32);
        x264.set("x264-params", "scenecut=0");
        // A forced keyframe is otherwise an open-GOP I frame: frames shown before it would be
        // decoded after it, in the next segment.
        x264.set("forced-idr", "1");
    }
    let encoder = encoder.open_with(x264).map_err(|e| {
        PipelineError::Encode(format!(
            "opening x264 (preset {:?}): {e}",
            profile.video.preset
        ))
    })?;
    Ok((h264, encoder))
}

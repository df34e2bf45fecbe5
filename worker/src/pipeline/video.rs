//! The video access copy: H.264 High 8-bit 4:2:0 + AAC stereo in an MP4 with the index at the
//! front, square pixels with the display aspect kept, deinterlaced when the source is interlaced
//! (flags, detection or raster: [`super::interlace`]), at most `max_height` lines, frame timing
//! kept.
//!
//! Only local files are opened: the `file` protocol alone is allowed and only container formats
//! of real masters, so an input cannot make FFmpeg read a URL or a playlist of other files.
//!
//! Audio: the best audio stream is resampled to 48 kHz and mixed down to stereo with FFmpeg's
//! default matrix (front channels kept, centre and surrounds at −3 dB); a stream whose channel
//! layout is not declared is taken as FFmpeg's default layout for its channel count.

use std::collections::BTreeMap;
use std::path::Path;

use caravan_proto::exec::ExecOutput;
use caravan_proto::{OutputName, Profile};
use ff::{codec, filter, format, frame, media, ChannelLayout, Dictionary, Packet, Rational};
use ffmpeg_next as ff;

use super::stills::Stills;
use super::{PipelineError, PipelineOutput};

/// Demuxers a master may use; anything else (playlists, concat lists, images) is refused.
const ALLOWED_DEMUXERS: &str =
    "matroska,webm,mov,mp4,m4a,3gp,3g2,mj2,avi,dv,mxf,mpegts,mpeg,ogg,flv,wav,aiff";

const OUTPUT_NAME: &str = "access.mp4";

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

/// The next frame out of `graph`'s sink `out`, in a fresh frame (the sink moves its frame into
/// the one it is given without releasing what that one held, as `av_read_frame` does).
pub(crate) fn next_frame<F>(graph: &mut filter::Graph, mut empty: F) -> Option<F>
where
    F: std::ops::DerefMut<Target = frame::Frame>,
{
    let mut sink = graph.get("out").expect("sink was added");
    sink.sink().frame(&mut empty).ok().map(|()| empty)
}

/// Local files in the containers of real masters, nothing else.
fn open_options() -> Dictionary<'static> {
    let mut options = Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", ALLOWED_DEMUXERS);
    options
}

/// Transcodes `input` into `out_dir/access.mp4`.
pub fn run(
    input: &Path,
    out_dir: &Path,
    profile: &Profile,
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

    let out_path = out_dir.join(OUTPUT_NAME);
    let mut octx = format::output_as(&out_path, "mp4").map_err(|e| PipelineError::Output {
        path: out_path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;

    let mut video = {
        let stream = ictx
            .streams()
            .best(media::Type::Video)
            .ok_or(PipelineError::NoVideoStream)?;
        VideoChain::new(input, &stream, &mut octx, profile, duration, &mut info)?
    };
    let mut audio = match ictx.streams().best(media::Type::Audio) {
        Some(stream) => Some(AudioChain::new(&stream, &mut octx, profile, &mut info)?),
        None => None,
    };

    let mut mux_options = Dictionary::new();
    mux_options.set("movflags", "+faststart");
    octx.write_header_with(mux_options)
        .map_err(|e| PipelineError::Encode(format!("MP4 header: {e}")))?;
    video.out_time_base = octx
        .stream(video.out_index)
        .map(|s| s.time_base())
        .unwrap_or(video.in_time_base);
    if let Some(a) = audio.as_mut() {
        a.out_time_base = octx
            .stream(a.out_index)
            .map(|s| s.time_base())
            .unwrap_or(a.enc_time_base);
    }

    let mut last_percent = -1.0f32;
    while let Some(packet) = next_packet(&mut ictx, 1000) {
        if packet.stream() == video.in_index {
            video.decode(&packet, &mut octx)?;
            if duration > 0.0 {
                let percent = ((video.last_seconds / duration) * 100.0).clamp(0.0, 99.0) as f32;
                if percent - last_percent >= 1.0 {
                    last_percent = percent;
                    progress(percent);
                }
            }
        } else if let Some(a) = audio.as_mut().filter(|a| packet.stream() == a.in_index) {
            a.decode(&packet, &mut octx)?;
        }
    }
    video.finish(&mut octx)?;
    if let Some(a) = audio.as_mut() {
        a.finish(&mut octx)?;
    }
    if video.frames_encoded == 0 {
        return Err(PipelineError::Undecodable {
            format: "video".into(),
            detail: format!(
                "no frame of the video stream could be decoded ({} damaged packets)",
                video.decode_errors
            ),
        });
    }
    let decoded_to = video.last_seconds + video.frame_seconds;
    if duration > 0.0 && decoded_to < duration * 0.95 - 0.5 {
        return Err(PipelineError::Undecodable {
            format: "video".into(),
            detail: format!(
                "the video stream ends at {decoded_to:.1} s of the {duration:.1} s the container declares (truncated or damaged)"
            ),
        });
    }
    octx.write_trailer()
        .map_err(|e| PipelineError::Encode(format!("MP4 trailer: {e}")))?;
    info.insert("decode_errors".to_owned(), video.decode_errors.into());
    if let Some(loudness) = audio.as_ref().and_then(AudioChain::loudness) {
        info.insert("access_audio_loudness".to_owned(), loudness);
    }
    progress(100.0);

    let encoded_seconds =
        video.last_seconds - video.first_seconds.unwrap_or(0.0) + video.frame_seconds;
    let mut outputs = vec![ExecOutput {
        name: OutputName::parse(OUTPUT_NAME).expect("fixed output names are valid"),
        media_type: "video/mp4".into(),
        width: Some(video.out_width),
        height: Some(video.out_height),
        duration_seconds: Some(encoded_seconds.max(0.0)),
    }];
    outputs.extend(
        video
            .stills
            .write(out_dir, profile, encoded_seconds.max(0.0))?,
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

struct VideoChain {
    in_index: usize,
    in_time_base: Rational,
    enc_time_base: Rational,
    out_index: usize,
    out_time_base: Rational,
    decoder: codec::decoder::Video,
    graph: filter::Graph,
    encoder: codec::encoder::Video,
    out_width: u32,
    out_height: u32,
    frames_encoded: u64,
    decode_errors: u64,
    next_pts: i64,
    first_seconds: Option<f64>,
    last_seconds: f64,
    frame_seconds: f64,
    /// The poster and storyboard, taken from the frames being encoded.
    stills: Stills,
}

impl VideoChain {
    fn new(
        input: &Path,
        stream: &format::stream::Stream,
        octx: &mut format::context::Output,
        profile: &Profile,
        duration: f64,
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
        let (out_width, out_height) = output_size(
            width,
            height,
            (sar.numerator(), sar.denominator()),
            profile.video.max_height,
        );
        let hd = out_height > 576;
        let in_time_base = stream.time_base();
        let frame_rate = stream.avg_frame_rate();
        let pixel_format = decoder.format();
        let scan = super::interlace::decide(
            input,
            open_options(),
            super::interlace::StreamFacts {
                index: stream.index(),
                field_order,
                width,
                height,
                frame_rate,
                time_base: in_time_base,
                sar,
                pixel_format,
            },
        );
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

        let mut graph = filter::Graph::new();
        let pix_fmt: ff::ffi::AVPixelFormat = pixel_format.into();
        let args = format!(
            "video_size={width}x{height}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
            pix_fmt as i32,
            in_time_base.numerator(),
            in_time_base.denominator().max(1),
            sar.numerator(),
            sar.denominator()
        );
        let filter_err = |e: ff::Error| PipelineError::Encode(format!("video filter graph: {e}"));
        graph
            .add(
                &filter::find("buffer").expect("FFmpeg has the buffer filter"),
                "in",
                &args,
            )
            .map_err(filter_err)?;
        graph
            .add(
                &filter::find("buffersink").expect("FFmpeg has the buffersink filter"),
                "out",
                "",
            )
            .map_err(filter_err)?;
        graph
            .get("out")
            .expect("sink was added")
            .set_pixel_format(format::Pixel::YUV420P);
        let deinterlace = if scan.interlaced.is_some() {
            format!("yadif=mode=send_frame:parity={}:deint=all,", scan.parity())
        } else {
            String::new()
        };
        let matrix = if hd { "bt709" } else { "bt601" };
        let spec = format!(
            "{deinterlace}scale={out_width}:{out_height}:flags=bicubic:out_color_matrix={matrix}:out_range=tv,setsar=1,format=yuv420p"
        );
        graph
            .output("in", 0)
            .and_then(|g| g.input("out", 0))
            .and_then(|g| g.parse(&spec))
            .map_err(filter_err)?;
        graph.validate().map_err(filter_err)?;
        // Filters may change the time base (yadif doubles its resolution): encode in the sink's.
        // SAFETY: the sink context belongs to the validated graph, which is alive.
        let enc_time_base: Rational = unsafe {
            ff::ffi::av_buffersink_get_time_base(graph.get("out").expect("sink was added").as_ptr())
        }
        .into();

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
        encoder.set_width(out_width);
        encoder.set_height(out_height);
        encoder.set_format(format::Pixel::YUV420P);
        encoder.set_time_base(enc_time_base);
        if frame_rate.numerator() > 0 && frame_rate.denominator() > 0 {
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
        if octx.format().flags().contains(format::Flags::GLOBAL_HEADER) {
            encoder.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut x264 = Dictionary::new();
        x264.set("preset", &profile.video.preset);
        x264.set("crf", &profile.video.crf.to_string());
        x264.set("profile", "high");
        let encoder = encoder.open_with(x264).map_err(|e| {
            PipelineError::Encode(format!(
                "opening x264 (preset {:?}): {e}",
                profile.video.preset
            ))
        })?;
        let mut ost = octx
            .add_stream(h264)
            .map_err(|e| PipelineError::Encode(format!("MP4 video stream: {e}")))?;
        ost.set_parameters(&encoder);
        ost.set_time_base(enc_time_base);
        let frame_seconds = if frame_rate.numerator() > 0 {
            f64::from(frame_rate.denominator()) / f64::from(frame_rate.numerator())
        } else {
            0.0
        };
        Ok(Self {
            in_index: stream.index(),
            in_time_base,
            enc_time_base,
            out_index: ost.index(),
            out_time_base: enc_time_base,
            decoder,
            graph,
            encoder,
            out_width,
            out_height,
            frames_encoded: 0,
            decode_errors: 0,
            next_pts: 0,
            first_seconds: None,
            last_seconds: 0.0,
            frame_seconds,
            stills: Stills::new(profile, duration, hd),
        })
    }

    fn decode(
        &mut self,
        packet: &Packet,
        octx: &mut format::context::Output,
    ) -> Result<(), PipelineError> {
        if self.decoder.send_packet(packet).is_err() {
            self.decode_errors += 1;
            return Ok(());
        }
        self.drain_decoder(octx)
    }

    fn drain_decoder(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        let mut decoded = frame::Video::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            let pts = decoded
                .timestamp()
                .filter(|&p| p >= self.next_pts)
                .unwrap_or(self.next_pts);
            self.next_pts = pts + 1;
            decoded.set_pts(Some(pts));
            let seconds = pts as f64 * f64::from(self.in_time_base);
            self.first_seconds.get_or_insert(seconds);
            self.last_seconds = seconds;
            if self
                .graph
                .get("in")
                .expect("source was added")
                .source()
                .add(&decoded)
                .is_err()
            {
                // A frame whose size or format changed mid-stream: count it as damage.
                self.decode_errors += 1;
                continue;
            }
            self.drain_graph(octx)?;
        }
        Ok(())
    }

    fn drain_graph(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        while let Some(mut filtered) = next_frame(&mut self.graph, frame::Video::empty()) {
            filtered.set_kind(ff::picture::Type::None);
            let seconds = filtered.pts().map_or(self.last_seconds, |pts| {
                pts as f64 * f64::from(self.enc_time_base)
            });
            self.stills.offer(&filtered, seconds)?;
            self.encoder
                .send_frame(&filtered)
                .map_err(|e| PipelineError::Encode(format!("x264: {e}")))?;
            self.frames_encoded += 1;
            self.drain_encoder(octx)?;
        }
        Ok(())
    }

    fn drain_encoder(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        let mut encoded = Packet::empty();
        while self.encoder.receive_packet(&mut encoded).is_ok() {
            encoded.set_stream(self.out_index);
            encoded.rescale_ts(self.enc_time_base, self.out_time_base);
            encoded
                .write_interleaved(octx)
                .map_err(|e| PipelineError::Encode(format!("writing MP4: {e}")))?;
        }
        Ok(())
    }

    fn finish(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        let _ = self.decoder.send_eof();
        self.drain_decoder(octx)?;
        let _ = self
            .graph
            .get("in")
            .expect("source was added")
            .source()
            .flush();
        self.drain_graph(octx)?;
        let _ = self.encoder.send_eof();
        self.drain_encoder(octx)
    }
}

const AUDIO_RATE: i32 = 48_000;

struct AudioChain {
    in_index: usize,
    in_time_base: Rational,
    in_layout: ChannelLayout,
    out_index: usize,
    enc_time_base: Rational,
    out_time_base: Rational,
    decoder: codec::decoder::Audio,
    graph: filter::Graph,
    encoder: codec::encoder::Audio,
    next_pts: Option<i64>,
    /// EBU R128 meter over the stereo mix as encoded.
    meter: Option<ebur128::EbuR128>,
    /// The loudness the mix was normalised to, if the profile asked.
    normalised_to: Option<f64>,
}

impl AudioChain {
    fn new(
        stream: &format::stream::Stream,
        octx: &mut format::context::Output,
        profile: &Profile,
        info: &mut BTreeMap<String, serde_json::Value>,
    ) -> Result<Self, PipelineError> {
        let undecodable = |e: ff::Error| PipelineError::Undecodable {
            format: "audio".into(),
            detail: e.to_string(),
        };
        let context =
            codec::context::Context::from_parameters(stream.parameters()).map_err(undecodable)?;
        let decoder = context.decoder().audio().map_err(undecodable)?;
        let channels = decoder.channels();
        if channels == 0 || decoder.rate() == 0 {
            return Err(PipelineError::Undecodable {
                format: "audio".into(),
                detail: "the audio stream declares no channels or sample rate".into(),
            });
        }
        let in_layout = if decoder.channel_layout().bits() == 0 {
            ChannelLayout::default(i32::from(channels))
        } else {
            decoder.channel_layout()
        };
        info.insert("audio_codec".into(), decoder.id().name().into());
        info.insert("audio_channels".into(), channels.into());
        info.insert("audio_sample_rate".into(), decoder.rate().into());

        let aac = ff::encoder::find(codec::Id::AAC)
            .ok_or_else(|| PipelineError::Encode("this FFmpeg has no AAC encoder".into()))?;
        let mut encoder = codec::context::Context::new_with_codec(aac)
            .encoder()
            .audio()
            .map_err(|e| PipelineError::Encode(format!("AAC encoder: {e}")))?;
        encoder.set_rate(AUDIO_RATE);
        encoder.set_channel_layout(ChannelLayout::STEREO);
        encoder.set_channels(2);
        encoder.set_format(format::Sample::F32(format::sample::Type::Planar));
        encoder.set_bit_rate(profile.video.audio_bitrate as usize);
        encoder.set_time_base((1, AUDIO_RATE));
        if octx.format().flags().contains(format::Flags::GLOBAL_HEADER) {
            encoder.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = encoder
            .open_as(aac)
            .map_err(|e| PipelineError::Encode(format!("opening AAC: {e}")))?;
        let mut ost = octx
            .add_stream(aac)
            .map_err(|e| PipelineError::Encode(format!("MP4 audio stream: {e}")))?;
        ost.set_parameters(&encoder);
        ost.set_time_base((1, AUDIO_RATE));

        let in_time_base = stream.time_base();
        let mut graph = filter::Graph::new();
        let args = format!(
            "time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout=0x{:x}",
            in_time_base.numerator(),
            in_time_base.denominator().max(1),
            decoder.rate(),
            decoder.format().name(),
            in_layout.bits()
        );
        let filter_err = |e: ff::Error| PipelineError::Encode(format!("audio filter graph: {e}"));
        graph
            .add(
                &filter::find("abuffer").expect("FFmpeg has abuffer"),
                "in",
                &args,
            )
            .map_err(filter_err)?;
        graph
            .add(
                &filter::find("abuffersink").expect("FFmpeg has abuffersink"),
                "out",
                "",
            )
            .map_err(filter_err)?;
        {
            let mut out = graph.get("out").expect("sink was added");
            out.set_sample_format(encoder.format());
            out.set_channel_layout(ChannelLayout::STEREO);
            out.set_sample_rate(AUDIO_RATE as u32);
        }
        let v = &profile.video;
        // loudnorm works at 192 kHz internally: resample back after it.
        let normalise = if v.loudness_normalise {
            format!(
                ",aformat=channel_layouts=stereo,loudnorm=I={}:TP={}:LRA=20,aresample={AUDIO_RATE}",
                v.loudness_target_lufs, v.loudness_true_peak_dbtp
            )
        } else {
            String::new()
        };
        graph
            .output("in", 0)
            .and_then(|g| g.input("out", 0))
            .and_then(|g| g.parse(&format!("aresample={AUDIO_RATE}{normalise}")))
            .map_err(filter_err)?;
        graph.validate().map_err(filter_err)?;
        graph
            .get("out")
            .expect("sink was added")
            .sink()
            .set_frame_size(encoder.frame_size());

        Ok(Self {
            in_index: stream.index(),
            in_time_base,
            in_layout,
            out_index: ost.index(),
            enc_time_base: Rational(1, AUDIO_RATE),
            out_time_base: Rational(1, AUDIO_RATE),
            decoder,
            graph,
            encoder,
            next_pts: None,
            meter: ebur128::EbuR128::new(
                2,
                AUDIO_RATE as u32,
                ebur128::Mode::I | ebur128::Mode::LRA | ebur128::Mode::TRUE_PEAK,
            )
            .ok(),
            normalised_to: v.loudness_normalise.then_some(v.loudness_target_lufs),
        })
    }

    /// EBU R128 figures of the encoded stereo mix, for the receipt.
    fn loudness(&self) -> Option<serde_json::Value> {
        let meter = self.meter.as_ref()?;
        let integrated = meter.loudness_global().ok()?;
        let range = meter.loudness_range().ok();
        let peak = (0..2)
            .filter_map(|ch| meter.true_peak(ch).ok())
            .fold(0.0f64, f64::max);
        let round = |v: f64| (v * 10.0).round() / 10.0;
        Some(serde_json::json!({
            "measured_on": "the access copy's stereo mix, before AAC encoding",
            "integrated_lufs": integrated.is_finite().then(|| round(integrated)),
            "range_lu": range.filter(|r| r.is_finite()).map(round),
            "true_peak_dbtp": (peak > 0.0).then(|| round(20.0 * peak.log10())),
            "normalised_to_lufs": self.normalised_to,
        }))
    }

    fn decode(
        &mut self,
        packet: &Packet,
        octx: &mut format::context::Output,
    ) -> Result<(), PipelineError> {
        if self.decoder.send_packet(packet).is_err() {
            return Ok(());
        }
        self.drain_decoder(octx)
    }

    fn drain_decoder(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        let mut decoded = frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            if decoded.channel_layout().bits() == 0 {
                decoded.set_channel_layout(self.in_layout);
            }
            if self.next_pts.is_none() {
                let start = decoded.timestamp().unwrap_or(0).max(0);
                self.next_pts = Some(start.rescale(self.in_time_base, self.enc_time_base));
            }
            let ts = decoded.timestamp();
            decoded.set_pts(ts);
            if self
                .graph
                .get("in")
                .expect("source was added")
                .source()
                .add(&decoded)
                .is_err()
            {
                continue;
            }
            self.drain_graph(octx)?;
        }
        Ok(())
    }

    fn drain_graph(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        while let Some(mut filtered) = next_frame(&mut self.graph, frame::Audio::empty()) {
            // Timestamps by sample count: continuous audio, independent of the source's jitter.
            let pts = self.next_pts.unwrap_or(0);
            filtered.set_pts(Some(pts));
            self.next_pts = Some(pts + filtered.samples() as i64);
            if let Some(meter) = self.meter.as_mut() {
                let (left, right) = (filtered.plane::<f32>(0), filtered.plane::<f32>(1));
                if meter.add_frames_planar_f32(&[left, right]).is_err() {
                    self.meter = None;
                }
            }
            self.encoder
                .send_frame(&filtered)
                .map_err(|e| PipelineError::Encode(format!("AAC: {e}")))?;
            self.drain_encoder(octx)?;
        }
        Ok(())
    }

    fn drain_encoder(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        let mut encoded = Packet::empty();
        while self.encoder.receive_packet(&mut encoded).is_ok() {
            encoded.set_stream(self.out_index);
            encoded.rescale_ts(self.enc_time_base, self.out_time_base);
            encoded
                .write_interleaved(octx)
                .map_err(|e| PipelineError::Encode(format!("writing MP4: {e}")))?;
        }
        Ok(())
    }

    fn finish(&mut self, octx: &mut format::context::Output) -> Result<(), PipelineError> {
        let _ = self.decoder.send_eof();
        self.drain_decoder(octx)?;
        let _ = self
            .graph
            .get("in")
            .expect("source was added")
            .source()
            .flush();
        self.drain_graph(octx)?;
        let _ = self.encoder.send_eof();
        self.drain_encoder(octx)
    }
}

use ff::Rescale as _;

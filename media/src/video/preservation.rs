//! The preservation copy, `preservation.mkv` (profile `video.preservation`): the master's
//! pictures exactly as decoded — stored size, pixel format, interlacing, aspect and colour tags —
//! encoded as FFV1 version 3, every frame a keyframe and every slice with its CRC, in Matroska,
//! with every audio stream kept losslessly: PCM and FLAC are copied packet for packet, integer
//! PCM up to 24 bits is compressed to FLAC when the profile asks, lossy audio is decoded into
//! FLAC or PCM. The pictures come from the same decode as the access renditions, taken before
//! any filter (deinterlacing, scaling, watermark) touches them.

use caravan_proto::{AssetMetadata, PreservationAudio, PreservationProfile};
use ff::packet::{Mut as _, Ref as _};
use ff::{codec, format, frame, software::scaling, Dictionary, Packet};
use ff::{Rational, Rescale as _};
use ffmpeg_next as ff;

use super::audio_in::{AudioSource, FilteredAudio, SinkFormat};
use super::muxer::Muxer;
use super::source::Source;
use crate::error::PipelineError;

pub(super) const PRESERVATION_MKV: &str = "preservation.mkv";

/// FFV1's version: 3 is the one standardised (RFC 9043) with slice CRCs.
const FFV1_VERSION: i32 = 3;

/// Why the master needs no preservation copy, or `None`: FFV1 with a configuration record
/// (version 2 or later; version 2 was never more than experimental) in Matroska is already the
/// preservation format.
pub(super) fn already_preserved(
    ictx: &format::context::Input,
    video: &format::stream::Stream,
) -> Option<&'static str> {
    let parameters = video.parameters();
    // SAFETY: reading a plain field of the stream's parameters, which outlive this call.
    let has_record = unsafe { (*parameters.as_ptr()).extradata_size } > 0;
    let matroska = ictx.format().name().contains("matroska");
    (parameters.id() == codec::Id::FFV1 && has_record && matroska)
        .then_some("the master is already FFV1 version 3 in Matroska")
}

/// The preservation Matroska being written: one FFV1 stream, then the audio streams in the
/// master's order.
pub(super) struct Preservation {
    muxer: Muxer,
    pictures: Pictures,
    tracks: Vec<Track>,
}

/// The FFV1 encoding of the decoded pictures.
struct Pictures {
    encoder: codec::encoder::Video,
    time_base: Rational,
    stream: usize,
    /// Source size and pixel format; frames that differ (a damaged stream) are left out.
    size: (u32, u32),
    source_format: format::Pixel,
    /// When FFV1 cannot store the decoder's pixel format (packed 4:2:2, say): a lossless
    /// rearrangement into the nearest format it can.
    convert: Option<scaling::Context>,
    frame_duration: i64,
    slices: u32,
    frames: u64,
    frames_left_out: u64,
}

/// One audio stream of the master and how it is kept.
enum Track {
    Copy {
        in_index: usize,
        in_time_base: Rational,
        stream: usize,
        codec: codec::Id,
    },
    Encode(Box<AudioEncode>),
}

/// Audio decoded and encoded again: integer PCM into FLAC, or lossy audio into FLAC or PCM.
struct AudioEncode {
    /// The graph only changes the sample format and cuts frames to the encoder's frame size.
    input: FilteredAudio,
    from: codec::Id,
    out: AudioOut,
}

/// The encoder of an [`AudioEncode`] and its stream in the Matroska.
struct AudioOut {
    encoder: codec::encoder::Audio,
    time_base: Rational,
    stream: usize,
    /// The newest encoded packet, not yet written (see [`Self::drain`]).
    held: Option<Packet>,
}

impl Preservation {
    /// Opens `preservation.mkv` in `out_dir` with an FFV1 stream for `source` and a stream for
    /// every audio stream of `ictx`, and writes its header.
    pub(super) fn new(
        path: &std::path::Path,
        ictx: &format::context::Input,
        source: &Source,
        settings: &PreservationProfile,
        metadata: &AssetMetadata,
    ) -> Result<Self, PipelineError> {
        let mut muxer = Muxer::matroska(path, PRESERVATION_MKV, metadata)?;
        let video = ictx
            .stream(source.index())
            .expect("the source is a stream of the master");
        let pictures = Pictures::new(&video, source, settings.slices, &mut muxer)?;
        let mut tracks = Vec::new();
        for stream in ictx.streams() {
            if stream.parameters().medium() == ff::media::Type::Audio {
                tracks.push(Track::new(&stream, settings.audio, &mut muxer)?);
            }
        }
        muxer.write_header()?;
        Ok(Self {
            muxer,
            pictures,
            tracks,
        })
    }

    /// Encodes one decoded picture of the master.
    pub(super) fn picture(&mut self, decoded: &frame::Video) -> Result<(), PipelineError> {
        self.pictures.encode(Some(decoded), &mut self.muxer)
    }

    /// Keeps one packet of the master if it belongs to an audio stream.
    pub(super) fn packet(&mut self, packet: &Packet) -> Result<(), PipelineError> {
        let index = packet.stream();
        match self.tracks.iter_mut().find(|t| t.in_index() == index) {
            Some(track) => track.packet(packet, &mut self.muxer),
            None => Ok(()),
        }
    }

    /// Flushes the encoders and closes the file; what was made, for the receipt.
    pub(super) fn finish(&mut self) -> Result<serde_json::Value, PipelineError> {
        self.pictures.encode(None, &mut self.muxer)?;
        for track in &mut self.tracks {
            track.finish(&mut self.muxer)?;
        }
        self.muxer.finish()?;
        let p = &self.pictures;
        let pixel_format = |f: format::Pixel| format!("{f:?}").to_lowercase();
        Ok(serde_json::json!({
            "made": true,
            "file": PRESERVATION_MKV,
            "video": {
                "codec": "ffv1",
                "version": FFV1_VERSION,
                "intra_only": true,
                "slice_crc": true,
                "slices": p.slices,
                "pixel_format": pixel_format(p.encoder.format()),
                "converted_from": p.convert.as_ref().map(|_| pixel_format(p.source_format)),
                "frames": p.frames,
                "frames_left_out": p.frames_left_out,
            },
            "audio": self.tracks.iter().map(Track::describe).collect::<Vec<_>>(),
        }))
    }
}

impl Pictures {
    fn new(
        stream: &format::stream::Stream,
        source: &Source,
        slices: u32,
        muxer: &mut Muxer,
    ) -> Result<Self, PipelineError> {
        let ffv1 = ff::encoder::find(codec::Id::FFV1)
            .ok_or_else(|| PipelineError::Encode("this FFmpeg has no FFV1 encoder".into()))?;
        let source_format = source.pixel_format();
        let (format, convert) = storable_format(ffv1, source_format, source)?;
        let mut encoder = codec::context::Context::new_with_codec(ffv1)
            .encoder()
            .video()
            .map_err(|e| PipelineError::Encode(format!("FFV1 encoder: {e}")))?;
        encoder.set_width(source.width);
        encoder.set_height(source.height);
        encoder.set_format(format);
        let time_base = stream.time_base();
        encoder.set_time_base(time_base);
        let rate = source.frame_rate;
        let rate_known = rate.numerator() > 0 && rate.denominator() > 0;
        if rate_known {
            encoder.set_frame_rate(Some(rate));
        }
        encoder.set_aspect_ratio(source.sar);
        encoder.set_gop(1);
        if muxer.global_header() {
            encoder.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let from = stream.parameters();
        // SAFETY: plain fields of the encoder context, set before it is opened, and of the
        // stream's parameters, which outlive this call.
        unsafe {
            let ctx = encoder.as_mut_ptr();
            let from = from.as_ptr();
            (*ctx).level = FFV1_VERSION;
            (*ctx).slices = slices as i32;
            (*ctx).thread_count = 0;
            (*ctx).thread_type = ff::ffi::FF_THREAD_SLICE;
            (*ctx).field_order = (*from).field_order;
            (*ctx).color_range = (*from).color_range;
            (*ctx).color_primaries = (*from).color_primaries;
            (*ctx).color_trc = (*from).color_trc;
            (*ctx).colorspace = (*from).color_space;
            (*ctx).chroma_sample_location = (*from).chroma_location;
        }
        let mut options = Dictionary::new();
        options.set("slicecrc", "1");
        let encoder = encoder.open_as_with(ffv1, options).map_err(|e| {
            PipelineError::Encode(format!(
                "opening FFV1 for {}×{} {format:?} with {slices} slices: {e}; choose another video.preservation.slices",
                source.width, source.height
            ))
        })?;
        let stream = muxer.add_stream(Some(ffv1), (&encoder).into(), time_base)?;
        if rate_known {
            muxer.set_frame_rate(stream, rate);
        }
        let frame_duration = if rate_known {
            1i64.rescale(rate.invert(), time_base)
        } else {
            0
        };
        Ok(Self {
            encoder,
            time_base,
            stream,
            size: (source.width, source.height),
            source_format,
            convert,
            frame_duration,
            slices,
            frames: 0,
            frames_left_out: 0,
        })
    }

    /// Encodes `decoded` (or flushes the encoder, with `None`) and writes what comes out.
    fn encode(
        &mut self,
        decoded: Option<&frame::Video>,
        muxer: &mut Muxer,
    ) -> Result<(), PipelineError> {
        let encode_err = |e: ff::Error| PipelineError::Encode(format!("FFV1: {e}"));
        match decoded {
            Some(frame)
                if (frame.width(), frame.height()) != self.size
                    || frame.format() != self.source_format =>
            {
                // The encoder reads frames of its own size: a frame that changed size or format
                // mid-stream is damage, left out and counted.
                self.frames_left_out += 1;
                return Ok(());
            }
            Some(frame) => {
                match self.convert.as_mut() {
                    Some(convert) => {
                        let mut converted = frame::Video::empty();
                        convert.run(frame, &mut converted).map_err(encode_err)?;
                        // SAFETY: both frames are valid; only properties (timestamps,
                        // interlacing, colour) are copied.
                        unsafe {
                            ff::ffi::av_frame_copy_props(converted.as_mut_ptr(), frame.as_ptr())
                        };
                        self.encoder.send_frame(&converted)
                    }
                    None => self.encoder.send_frame(frame),
                }
                .map_err(encode_err)?;
                self.frames += 1;
            }
            None => {
                let _ = self.encoder.send_eof();
            }
        }
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            if packet.duration() == 0 {
                packet.set_duration(self.frame_duration);
            }
            muxer.write_to(&mut packet, self.stream, self.time_base)?;
        }
        Ok(())
    }
}

/// The pixel format FFV1 stores `format` in: itself, or the nearest it can hold with a
/// converter that only rearranges samples (packed `uyvy422` into planar `yuv422p`, say).
fn storable_format(
    ffv1: ff::Codec,
    format: format::Pixel,
    source: &Source,
) -> Result<(format::Pixel, Option<scaling::Context>), PipelineError> {
    let storable = ffv1
        .video()
        .ok()
        .and_then(|v| v.formats())
        .is_some_and(|mut formats| formats.any(|f| f == format));
    if storable {
        return Ok((format, None));
    }
    // SAFETY: the codec's list of pixel formats is static and ends with AV_PIX_FMT_NONE.
    let nearest: format::Pixel = unsafe {
        let mut loss = 0;
        ff::ffi::avcodec_find_best_pix_fmt_of_list(
            (*ffv1.as_ptr()).pix_fmts,
            format.into(),
            1,
            &mut loss,
        )
    }
    .into();
    let convert = scaling::Context::get(
        format,
        source.width,
        source.height,
        nearest,
        source.width,
        source.height,
        scaling::Flags::POINT | scaling::Flags::ACCURATE_RND | scaling::Flags::BITEXACT,
    )
    .map_err(|e| {
        PipelineError::Encode(format!(
            "FFV1 cannot store {format:?} pictures and converting them to {nearest:?} failed: {e}"
        ))
    })?;
    Ok((nearest, Some(convert)))
}

/// Integer PCM that FLAC holds without loss (FFmpeg's FLAC encoder stores up to 24 bits).
fn flac_holds(codec: codec::Id) -> bool {
    use codec::Id::*;
    matches!(codec, PCM_S16LE | PCM_S16BE | PCM_S24LE | PCM_S24BE)
}

impl Track {
    fn new(
        stream: &format::stream::Stream,
        audio: PreservationAudio,
        muxer: &mut Muxer,
    ) -> Result<Self, PipelineError> {
        let parameters = stream.parameters();
        let codec = parameters.id();
        // SAFETY: reading a plain field of the stream's parameters.
        let channels = unsafe { (*parameters.as_ptr()).ch_layout.nb_channels };
        let lossless = codec == codec::Id::FLAC || codec.name().starts_with("pcm_");
        let to_flac = audio == PreservationAudio::Flac && flac_holds(codec) && channels <= 8;
        if lossless && !to_flac && muxer.can_hold(codec) {
            let in_time_base = stream.time_base();
            let index = muxer.add_stream(None, parameters, in_time_base)?;
            return Ok(Track::Copy {
                in_index: stream.index(),
                in_time_base,
                stream: index,
                codec,
            });
        }
        AudioEncode::new(stream, audio, muxer).map(|a| Track::Encode(Box::new(a)))
    }

    fn in_index(&self) -> usize {
        match self {
            Track::Copy { in_index, .. } => *in_index,
            Track::Encode(a) => a.input.source.index,
        }
    }

    fn packet(&mut self, packet: &Packet, muxer: &mut Muxer) -> Result<(), PipelineError> {
        match self {
            Track::Copy {
                in_time_base,
                stream,
                ..
            } => muxer.write_to(&mut packet.clone(), *stream, *in_time_base),
            Track::Encode(a) => {
                let out = &mut a.out;
                a.input
                    .decode(Some(packet), |frame| out.encode(&frame, muxer))
            }
        }
    }

    fn finish(&mut self, muxer: &mut Muxer) -> Result<(), PipelineError> {
        match self {
            Track::Copy { .. } => Ok(()),
            Track::Encode(a) => {
                let out = &mut a.out;
                a.input.decode(None, |frame| out.encode(&frame, muxer))?;
                out.finish(muxer)
            }
        }
    }

    fn describe(&self) -> serde_json::Value {
        match self {
            Track::Copy {
                in_index, codec, ..
            } => serde_json::json!({
                "stream": in_index, "from": codec.name(), "kept_as": codec.name(), "copied": true,
            }),
            Track::Encode(a) => serde_json::json!({
                "stream": a.input.source.index,
                "from": a.from.name(),
                "kept_as": a.out.encoder.id().name(),
                "copied": false,
                // SAFETY: reading a plain field of the opened encoder.
                "bits": unsafe { (*a.out.encoder.as_ptr()).bits_per_raw_sample },
            }),
        }
    }
}

impl AudioEncode {
    fn new(
        stream: &format::stream::Stream,
        audio: PreservationAudio,
        muxer: &mut Muxer,
    ) -> Result<Self, PipelineError> {
        use format::sample::Type::Packed;
        use format::Sample;
        let source = AudioSource::open(stream)?;
        let decoder = &source.decoder;
        let channels = decoder.channels();
        let from = decoder.id();
        // Bits the decoded samples really carry: integer PCM says; float (lossy decoders) is
        // kept at 24 bits in FLAC, or as float PCM.
        let float = matches!(decoder.format(), Sample::F32(_) | Sample::F64(_));
        let bits = match decoder.format() {
            Sample::U8(_) | Sample::I16(_) => 16,
            _ if float => 24,
            // SAFETY: reading a plain field of the opened decoder.
            _ => match unsafe { (*decoder.as_ptr()).bits_per_raw_sample } {
                1..=24 => 24,
                _ => 32,
            },
        };
        let flac = audio == PreservationAudio::Flac && channels <= 8 && bits <= 24;
        let (id, sample) = match (flac, bits, float) {
            (true, 16, _) => (codec::Id::FLAC, Sample::I16(Packed)),
            (true, _, _) => (codec::Id::FLAC, Sample::I32(Packed)),
            (false, _, true) => (codec::Id::PCM_F32LE, Sample::F32(Packed)),
            (false, 16, _) => (codec::Id::PCM_S16LE, Sample::I16(Packed)),
            (false, 24, _) => (codec::Id::PCM_S24LE, Sample::I32(Packed)),
            (false, _, _) => (codec::Id::PCM_S32LE, Sample::I32(Packed)),
        };
        let codec = ff::encoder::find(id).ok_or_else(|| {
            PipelineError::Encode(format!("this FFmpeg has no {} encoder", id.name()))
        })?;
        let rate = decoder.rate();
        let mut encoder = codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(|e| PipelineError::Encode(format!("{} encoder: {e}", id.name())))?;
        encoder.set_rate(rate as i32);
        encoder.set_channel_layout(source.layout);
        encoder.set_channels(i32::from(channels));
        encoder.set_format(sample);
        encoder.set_time_base((1, rate as i32));
        // SAFETY: a plain field of the encoder context, set before it is opened.
        unsafe { (*encoder.as_mut_ptr()).bits_per_raw_sample = bits };
        if muxer.global_header() {
            encoder.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = encoder
            .open_as(codec)
            .map_err(|e| PipelineError::Encode(format!("opening {}: {e}", id.name())))?;
        let time_base = Rational(1, rate as i32);
        let index = muxer.add_stream(Some(codec), (&encoder).into(), time_base)?;
        let layout = source.layout;
        let input = source.filtered(
            "anull",
            SinkFormat {
                sample,
                layout,
                rate,
                frame_size: encoder.frame_size(),
            },
        )?;
        Ok(Self {
            input,
            from,
            out: AudioOut {
                encoder,
                time_base,
                stream: index,
                held: None,
            },
        })
    }
}

impl AudioOut {
    fn encode(&mut self, frame: &frame::Audio, muxer: &mut Muxer) -> Result<(), PipelineError> {
        self.encoder
            .send_frame(frame)
            .map_err(|e| PipelineError::Encode(format!("{}: {e}", self.encoder.id().name())))?;
        self.drain(muxer)
    }

    /// Writes what the encoder has made, holding the last packet back: FLAC's encoder ends with
    /// an empty packet carrying the final STREAMINFO (sample count, MD5 of the audio), which
    /// the muxer refuses on its own; it travels on the last real packet instead.
    fn drain(&mut self, muxer: &mut Muxer) -> Result<(), PipelineError> {
        let mut encoded = Packet::empty();
        while self.encoder.receive_packet(&mut encoded).is_ok() {
            let packet = std::mem::replace(&mut encoded, Packet::empty());
            if packet.size() == 0 {
                if let Some(held) = self.held.as_mut() {
                    move_side_data(&packet, held);
                }
                continue;
            }
            if let Some(mut held) = self.held.replace(packet) {
                muxer.write_to(&mut held, self.stream, self.time_base)?;
            }
        }
        Ok(())
    }

    /// Flushes the encoder and writes the packet held back.
    fn finish(&mut self, muxer: &mut Muxer) -> Result<(), PipelineError> {
        let _ = self.encoder.send_eof();
        self.drain(muxer)?;
        match self.held.take() {
            Some(mut held) => muxer.write_to(&mut held, self.stream, self.time_base),
            None => Ok(()),
        }
    }
}

/// Copies the side data of `from` (an encoder's closing, empty packet) onto `to`.
fn move_side_data(from: &Packet, to: &mut Packet) {
    // SAFETY: both packets are valid; each side-data buffer is duplicated with av_memdup and
    // handed to `to`, which frees it (or freed here if `to` refuses it).
    unsafe {
        let from = from.as_ptr();
        for k in 0..(*from).side_data_elems as usize {
            let item = &*(*from).side_data.add(k);
            let copy = ff::ffi::av_memdup(item.data.cast(), item.size) as *mut u8;
            if copy.is_null() {
                continue;
            }
            if ff::ffi::av_packet_add_side_data(to.as_mut_ptr(), item.type_, copy, item.size) < 0 {
                ff::ffi::av_free(copy.cast());
            }
        }
    }
}

#[cfg(test)]
mod tests;

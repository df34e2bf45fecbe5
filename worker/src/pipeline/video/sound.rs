//! The audio of the access renditions: the best audio stream, resampled to 48 kHz and mixed down
//! to stereo with FFmpeg's default matrix (front channels kept, centre and surrounds at −3 dB; a
//! stream whose channel layout is not declared is taken as FFmpeg's default layout for its
//! channel count), optionally loudness-normalised, measured (EBU R128), encoded to AAC once and
//! written to every output.

use std::collections::BTreeMap;

use ff::{codec, filter, format, frame, ChannelLayout, Packet, Rational, Rescale as _};
use ffmpeg_next as ff;

use super::muxer::Muxer;
use super::next_frame;
use crate::pipeline::PipelineError;
use caravan_proto::Profile;

const AUDIO_RATE: i32 = 48_000;

pub(super) struct AudioChain {
    pub(super) in_index: usize,
    in_time_base: Rational,
    in_layout: ChannelLayout,
    enc_time_base: Rational,
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
    pub(super) fn new(
        stream: &format::stream::Stream,
        muxers: &mut [Muxer],
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
        if muxers.iter().any(Muxer::global_header) {
            encoder.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let encoder = encoder
            .open_as(aac)
            .map_err(|e| PipelineError::Encode(format!("opening AAC: {e}")))?;
        for muxer in muxers.iter_mut() {
            muxer.add_audio(aac, &encoder, Rational(1, AUDIO_RATE))?;
        }

        let in_time_base = stream.time_base();
        let mut graph = filter::Graph::new();
        let args = super::abuffer_args(in_time_base, decoder.rate(), decoder.format(), in_layout);
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
            enc_time_base: Rational(1, AUDIO_RATE),
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
    pub(super) fn loudness(&self) -> Option<serde_json::Value> {
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

    pub(super) fn decode(
        &mut self,
        packet: &Packet,
        muxers: &mut [Muxer],
    ) -> Result<(), PipelineError> {
        if self.decoder.send_packet(packet).is_err() {
            return Ok(());
        }
        self.drain_decoder(muxers)
    }

    fn drain_decoder(&mut self, muxers: &mut [Muxer]) -> Result<(), PipelineError> {
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
            if super::feed(&mut self.graph, &decoded).is_err() {
                continue;
            }
            self.drain_graph(muxers)?;
        }
        Ok(())
    }

    fn drain_graph(&mut self, muxers: &mut [Muxer]) -> Result<(), PipelineError> {
        while let Some(mut filtered) = next_frame(&mut self.graph, "out", frame::Audio::empty()) {
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
            self.drain_encoder(muxers)?;
        }
        Ok(())
    }

    fn drain_encoder(&mut self, muxers: &mut [Muxer]) -> Result<(), PipelineError> {
        let mut encoded = Packet::empty();
        while self.encoder.receive_packet(&mut encoded).is_ok() {
            for muxer in muxers.iter_mut() {
                muxer.write_audio(&encoded, self.enc_time_base)?;
            }
        }
        Ok(())
    }

    pub(super) fn finish(&mut self, muxers: &mut [Muxer]) -> Result<(), PipelineError> {
        let _ = self.decoder.send_eof();
        self.drain_decoder(muxers)?;
        super::end_input(&mut self.graph);
        self.drain_graph(muxers)?;
        let _ = self.encoder.send_eof();
        self.drain_encoder(muxers)
    }
}

//! The audio of the access renditions: the best audio stream, resampled to 48 kHz and mixed down
//! to stereo with FFmpeg's default matrix (front channels kept, centre and surrounds at −3 dB; a
//! stream whose channel layout is not declared is taken as FFmpeg's default layout for its
//! channel count), optionally loudness-normalised, measured (EBU R128), encoded to AAC once and
//! written to every output.

use std::collections::BTreeMap;

use ff::{codec, format, frame, ChannelLayout, Packet, Rational};
use ffmpeg_next as ff;

use super::audio_in::{AudioSource, FilteredAudio, SinkFormat};
use super::muxer::Muxer;
use crate::error::PipelineError;
use caravan_proto::Profile;

const AUDIO_RATE: i32 = 48_000;

pub(super) struct AudioChain {
    input: FilteredAudio,
    enc_time_base: Rational,
    encoder: codec::encoder::Audio,
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
        let source = AudioSource::open(stream)?;
        let decoder = &source.decoder;
        info.insert("audio_codec".into(), decoder.id().name().into());
        info.insert("audio_channels".into(), decoder.channels().into());
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
        let input = source.filtered(
            &format!("aresample={AUDIO_RATE}{normalise}"),
            SinkFormat {
                sample: encoder.format(),
                layout: ChannelLayout::STEREO,
                rate: AUDIO_RATE as u32,
                frame_size: encoder.frame_size(),
            },
        )?;

        Ok(Self {
            input,
            enc_time_base: Rational(1, AUDIO_RATE),
            encoder,
            meter: ebur128::EbuR128::new(
                2,
                AUDIO_RATE as u32,
                ebur128::Mode::I | ebur128::Mode::LRA | ebur128::Mode::TRUE_PEAK,
            )
            .ok(),
            normalised_to: v.loudness_normalise.then_some(v.loudness_target_lufs),
        })
    }

    /// The master's stream this chain decodes.
    pub(super) fn in_index(&self) -> usize {
        self.input.source.index
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
        let (encoder, meter, time_base) = (&mut self.encoder, &mut self.meter, self.enc_time_base);
        self.input.decode(Some(packet), |mix| {
            encode(encoder, meter, time_base, &mix, muxers)
        })
    }

    pub(super) fn finish(&mut self, muxers: &mut [Muxer]) -> Result<(), PipelineError> {
        let (encoder, meter, time_base) = (&mut self.encoder, &mut self.meter, self.enc_time_base);
        self.input
            .decode(None, |mix| encode(encoder, meter, time_base, &mix, muxers))?;
        let _ = self.encoder.send_eof();
        drain_encoder(&mut self.encoder, time_base, muxers)
    }
}

/// Meters one frame of the stereo mix and encodes it.
fn encode(
    encoder: &mut codec::encoder::Audio,
    meter: &mut Option<ebur128::EbuR128>,
    time_base: Rational,
    mix: &frame::Audio,
    muxers: &mut [Muxer],
) -> Result<(), PipelineError> {
    if let Some(m) = meter.as_mut() {
        let (left, right) = (mix.plane::<f32>(0), mix.plane::<f32>(1));
        if m.add_frames_planar_f32(&[left, right]).is_err() {
            *meter = None;
        }
    }
    encoder
        .send_frame(mix)
        .map_err(|e| PipelineError::Encode(format!("AAC: {e}")))?;
    drain_encoder(encoder, time_base, muxers)
}

fn drain_encoder(
    encoder: &mut codec::encoder::Audio,
    time_base: Rational,
    muxers: &mut [Muxer],
) -> Result<(), PipelineError> {
    let mut encoded = Packet::empty();
    while encoder.receive_packet(&mut encoded).is_ok() {
        for muxer in muxers.iter_mut() {
            muxer.write_audio(&encoded, time_base)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! One output file of the video pipeline — the access MP4, one HLS rung or the preservation
//! Matroska — and the streams in it. Encoders write packets in their own time base; the muxer
//! rescales them to its streams'.

use std::path::{Path, PathBuf};

use ff::{codec, format, Dictionary, Packet, Rational};
use ffmpeg_next as ff;

use caravan_proto::AssetMetadata;

use crate::error::PipelineError;

pub(super) struct Muxer {
    octx: format::context::Output,
    /// What the muxer writes, for errors ("access.mp4", "hls/720p").
    label: String,
    /// Options of `avformat_write_header`.
    options: Vec<(&'static str, String)>,
    video_stream: Option<usize>,
    audio_stream: Option<usize>,
}

impl Muxer {
    /// An MP4 with its index at the front, tagged with the submission's title (`©nam`),
    /// creator (`©ART`) and rights (`cprt`; the statement's URI in `©cmt`).
    pub(super) fn mp4(
        path: &Path,
        label: &str,
        metadata: &AssetMetadata,
    ) -> Result<Self, PipelineError> {
        let mut muxer = Self::new(path, "mp4", label, vec![("movflags", "+faststart".into())])?;
        muxer.tag(metadata);
        Ok(muxer)
    }

    /// A Matroska file tagged like the MP4 (`TITLE`, `ARTIST`, `COPYRIGHT`, `COMMENT`); its
    /// cues (index) at the end, as intra-only video has one per frame.
    pub(super) fn matroska(
        path: &Path,
        label: &str,
        metadata: &AssetMetadata,
    ) -> Result<Self, PipelineError> {
        let mut muxer = Self::new(path, "matroska", label, Vec::new())?;
        muxer.tag(metadata);
        Ok(muxer)
    }

    /// The submission's descriptive metadata as container tags.
    fn tag(&mut self, metadata: &AssetMetadata) {
        let mut tags = Dictionary::new();
        let fields = [
            ("title", &metadata.title),
            ("artist", &metadata.creator),
            ("copyright", &metadata.rights),
            ("comment", &metadata.rights_uri),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                tags.set(key, value);
            }
        }
        self.octx.set_metadata(tags);
    }

    /// A VOD HLS media playlist with CMAF (fMP4) segments: `playlist`, `init.mp4` and
    /// `seg_NNNNN.m4s` in the playlist's folder, cut at the first keyframe at or after every
    /// `segment_seconds`.
    pub(super) fn hls(
        playlist: &Path,
        label: &str,
        segment_seconds: f64,
    ) -> Result<Self, PipelineError> {
        let folder = playlist.parent().expect("a playlist is inside a folder");
        std::fs::create_dir_all(folder).map_err(|source| PipelineError::Output {
            path: folder.to_owned(),
            source,
        })?;
        let segments = folder.join("seg_%05d.m4s");
        let options = vec![
            ("hls_time", format!("{segment_seconds}")),
            ("hls_playlist_type", "vod".into()),
            ("hls_segment_type", "fmp4".into()),
            ("hls_fmp4_init_filename", "init.mp4".into()),
            (
                "hls_segment_filename",
                segments.to_string_lossy().into_owned(),
            ),
            ("hls_flags", "independent_segments".into()),
        ];
        Self::new(playlist, "hls", label, options)
    }

    fn new(
        path: &Path,
        format: &str,
        label: &str,
        options: Vec<(&'static str, String)>,
    ) -> Result<Self, PipelineError> {
        let octx = format::output_as(&path, format).map_err(|e| PipelineError::Output {
            path: PathBuf::from(path),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(Self {
            octx,
            label: label.to_owned(),
            options,
            video_stream: None,
            audio_stream: None,
        })
    }

    /// Whether encoders feeding this muxer must put their headers out of band.
    pub(super) fn global_header(&self) -> bool {
        self.octx
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER)
    }

    pub(super) fn add_video(
        &mut self,
        codec: ff::Codec,
        encoder: &codec::encoder::Video,
        time_base: Rational,
    ) -> Result<(), PipelineError> {
        self.video_stream = Some(self.add_stream(Some(codec), encoder.into(), time_base)?);
        Ok(())
    }

    pub(super) fn add_audio(
        &mut self,
        codec: ff::Codec,
        encoder: &codec::encoder::Audio,
        time_base: Rational,
    ) -> Result<(), PipelineError> {
        self.audio_stream = Some(self.add_stream(Some(codec), encoder.into(), time_base)?);
        Ok(())
    }

    /// A stream of `codec` described by `parameters` (an encoder's, or an input stream's when
    /// its packets are copied); its index, for [`Self::write_to`].
    pub(super) fn add_stream(
        &mut self,
        codec: Option<ff::Codec>,
        parameters: codec::Parameters,
        time_base: Rational,
    ) -> Result<usize, PipelineError> {
        let mut ost = self
            .octx
            .add_stream(codec)
            .map_err(|e| PipelineError::Encode(format!("{} stream: {e}", self.label)))?;
        ost.set_parameters(parameters);
        // SAFETY: plain fields of the new stream and its parameters, before the header is
        // written. The input container's tag for the codec means nothing here (the muxer picks
        // its own); Matroska takes the display aspect from the stream, not its parameters.
        unsafe {
            let stream = ost.as_mut_ptr();
            (*(*stream).codecpar).codec_tag = 0;
            (*stream).sample_aspect_ratio = (*(*stream).codecpar).sample_aspect_ratio;
        }
        ost.set_time_base(time_base);
        Ok(ost.index())
    }

    /// Declares the frame rate of video stream `stream` (Matroska writes it as each frame's
    /// default duration, which tools such as MediaInfo read as the frame rate).
    pub(super) fn set_frame_rate(&mut self, stream: usize, rate: Rational) {
        if let Some(mut stream) = self.octx.stream_mut(stream) {
            stream.set_avg_frame_rate(rate);
            stream.set_rate(rate);
        }
    }

    /// Whether this container can hold a stream of `codec` as it is.
    pub(super) fn can_hold(&self, codec: codec::Id) -> bool {
        // SAFETY: the output format outlives the call; avformat_query_codec only reads it.
        unsafe {
            ff::ffi::avformat_query_codec(
                self.octx.format().as_ptr(),
                codec.into(),
                ff::ffi::FF_COMPLIANCE_NORMAL,
            ) == 1
        }
    }

    pub(super) fn write_header(&mut self) -> Result<(), PipelineError> {
        let mut options = Dictionary::new();
        for (key, value) in &self.options {
            options.set(key, value);
        }
        self.octx
            .write_header_with(options)
            .map(drop)
            .map_err(|e| PipelineError::Encode(format!("{} header: {e}", self.label)))
    }

    pub(super) fn write_video(
        &mut self,
        packet: &mut Packet,
        time_base: Rational,
    ) -> Result<(), PipelineError> {
        let stream = self.video_stream.expect("a video stream was added");
        self.write_to(packet, stream, time_base)
    }

    /// Writes a copy of `packet` (the same audio goes to every output).
    pub(super) fn write_audio(
        &mut self,
        packet: &Packet,
        time_base: Rational,
    ) -> Result<(), PipelineError> {
        let Some(stream) = self.audio_stream else {
            return Ok(());
        };
        self.write_to(&mut packet.clone(), stream, time_base)
    }

    /// Writes `packet`, in `time_base`, to the stream `stream`.
    pub(super) fn write_to(
        &mut self,
        packet: &mut Packet,
        stream: usize,
        time_base: Rational,
    ) -> Result<(), PipelineError> {
        let out_time_base = self
            .octx
            .stream(stream)
            .map_or(time_base, |s| s.time_base());
        packet.set_stream(stream);
        packet.rescale_ts(time_base, out_time_base);
        packet
            .write_interleaved(&mut self.octx)
            .map_err(|e| PipelineError::Encode(format!("writing {}: {e}", self.label)))
    }

    pub(super) fn finish(&mut self) -> Result<(), PipelineError> {
        self.octx
            .write_trailer()
            .map_err(|e| PipelineError::Encode(format!("{} trailer: {e}", self.label)))
    }
}

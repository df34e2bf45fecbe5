//! The HLS ladder's plan and its master playlist.
//!
//! ```text
//! hls/master.m3u8                     one EXT-X-STREAM-INF per rung, highest first
//! hls/{height}p/index.m3u8            VOD media playlist of the rung
//! hls/{height}p/init.mp4              CMAF header
//! hls/{height}p/seg_NNNNN.m4s         CMAF segments (video and the AAC stereo mix)
//! ```
//!
//! `BANDWIDTH` is the peak bitrate of any segment of the rung, `AVERAGE-BANDWIDTH` the mean
//! over all its segments (both measured on the files written, audio included); `CODECS` comes
//! from the SPS x264 wrote.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use caravan_proto::exec::ExecOutput;
use caravan_proto::{HlsProfile, OutputName};
use ff::Rational;
use ffmpeg_next as ff;

use crate::error::PipelineError;

/// One rung of the ladder as it will be made.
#[derive(Debug, Clone, PartialEq)]
pub struct Rung {
    pub width: u32,
    pub height: u32,
    pub max_kbps: u32,
}

impl Rung {
    /// The rung's folder below `hls/`.
    pub fn name(&self) -> String {
        format!("{}p", self.height)
    }

    pub(super) fn playlist(&self, out_dir: &Path) -> PathBuf {
        out_dir.join("hls").join(self.name()).join("index.m3u8")
    }
}

/// The rungs for a source of `width`×`height` with sample aspect `sar`, highest first: each
/// profile rung no taller than the source, or, when every rung is taller, one rung at the
/// source's height with the lowest rung's cap.
pub fn plan(p: &HlsProfile, width: u32, height: u32, sar: (i32, i32)) -> Vec<Rung> {
    let mut chosen: Vec<(u32, u32)> = p
        .rungs
        .iter()
        .filter(|r| r.height <= height)
        .map(|r| (r.height, r.max_kbps))
        .collect();
    if chosen.is_empty() {
        if let Some(lowest) = p.rungs.iter().min_by_key(|r| r.height) {
            chosen.push((height, lowest.max_kbps));
        }
    }
    chosen.sort_by(|a, b| b.cmp(a));
    chosen.dedup_by_key(|r| r.0);
    chosen
        .into_iter()
        .map(|(h, max_kbps)| {
            let (width, height) = super::target::output_size(width, height, sar, h);
            Rung {
                width,
                height,
                max_kbps,
            }
        })
        .collect()
}

/// What the master playlist needs to know of a finished rung.
pub(super) struct Made {
    pub rung: Rung,
    /// The `avc1.PPCCLL` codec string of the rung's video.
    pub video_codec: String,
}

/// The `avc1.PPCCLL` string of an H.264 stream from its extradata (an `avcC` record or an
/// Annex B SPS); `None` if it holds no SPS.
pub fn avc_codec_string(extradata: &[u8]) -> Option<String> {
    let sps = if extradata.first() == Some(&1) && extradata.len() >= 4 {
        &extradata[1..4]
    } else {
        let start = extradata
            .windows(4)
            .position(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 7)?;
        extradata.get(start + 4..start + 7)?
    };
    Some(format!("avc1.{:02x}{:02x}{:02x}", sps[0], sps[1], sps[2]))
}

/// The `avc1.PPCCLL` string of an opened encoder.
pub(super) fn encoder_codec_string(encoder: &ff::codec::encoder::Video) -> Option<String> {
    // SAFETY: the opened encoder owns `extradata_size` bytes at `extradata` (or none).
    let extradata = unsafe {
        let ctx = encoder.as_ptr();
        if (*ctx).extradata.is_null() || (*ctx).extradata_size <= 0 {
            return None;
        }
        std::slice::from_raw_parts((*ctx).extradata, (*ctx).extradata_size as usize)
    };
    avc_codec_string(extradata)
}

/// Peak and average bitrate (bit/s) of the segments a media playlist lists.
fn bandwidth(playlist: &Path) -> Result<(u64, u64), PipelineError> {
    let read_err = |source| PipelineError::Output {
        path: playlist.to_owned(),
        source,
    };
    let text = std::fs::read_to_string(playlist).map_err(read_err)?;
    let folder = playlist.parent().expect("a playlist is inside a folder");
    let (mut peak, mut bits, mut seconds) = (0.0f64, 0.0f64, 0.0f64);
    let mut duration = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            duration = rest.split(',').next().and_then(|d| d.parse::<f64>().ok());
        } else if let (Some(d), false) = (duration.take(), line.starts_with('#')) {
            let size = std::fs::metadata(folder.join(line))
                .map_err(read_err)?
                .len() as f64
                * 8.0;
            if d > 0.0 {
                peak = peak.max(size / d);
            }
            bits += size;
            seconds += d;
        }
    }
    let average = if seconds > 0.0 { bits / seconds } else { 0.0 };
    Ok((peak.ceil() as u64, average.ceil() as u64))
}

/// Writes `hls/master.m3u8` for the finished rungs and lists every file of the ladder.
pub(super) fn finish(
    out_dir: &Path,
    made: &[Made],
    frame_rate: Rational,
    has_audio: bool,
) -> Result<(Vec<ExecOutput>, serde_json::Value), PipelineError> {
    let mut master = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let mut outputs = Vec::new();
    let mut described = Vec::new();
    for m in made {
        let playlist = m.rung.playlist(out_dir);
        let (peak, average) = bandwidth(&playlist)?;
        let codecs = if has_audio {
            format!("{},mp4a.40.2", m.video_codec)
        } else {
            m.video_codec.clone()
        };
        let mut attributes = format!(
            "BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},RESOLUTION={}x{},CODECS=\"{codecs}\"",
            m.rung.width, m.rung.height
        );
        if frame_rate.numerator() > 0 && frame_rate.denominator() > 0 {
            let _ = write!(attributes, ",FRAME-RATE={:.3}", f64::from(frame_rate));
        }
        let _ = write!(
            master,
            "#EXT-X-STREAM-INF:{attributes}\n{}/index.m3u8\n",
            m.rung.name()
        );
        described.push(serde_json::json!({
            "playlist": format!("hls/{}/index.m3u8", m.rung.name()),
            "width": m.rung.width,
            "height": m.rung.height,
            "max_kbps": m.rung.max_kbps,
            "bandwidth": peak,
            "average_bandwidth": average,
            "codecs": codecs,
        }));
        outputs.extend(rung_files(out_dir, &m.rung)?);
    }
    let path = out_dir.join("hls/master.m3u8");
    std::fs::write(&path, master).map_err(|source| PipelineError::Output { path, source })?;
    outputs.push(output(
        "hls/master.m3u8",
        "application/vnd.apple.mpegurl",
        None,
    ));
    Ok((outputs, serde_json::Value::Array(described)))
}

/// Every file the HLS muxer wrote for `rung`, in name order.
fn rung_files(out_dir: &Path, rung: &Rung) -> Result<Vec<ExecOutput>, PipelineError> {
    let folder = out_dir.join("hls").join(rung.name());
    let list_err = |source| PipelineError::Output {
        path: folder.clone(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .map_err(list_err)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(list_err)?;
    names.sort();
    Ok(names
        .into_iter()
        .map(|file| {
            let media_type = match file.rsplit('.').next() {
                Some("m3u8") => "application/vnd.apple.mpegurl",
                Some("m4s") => "video/iso.segment",
                _ => "video/mp4",
            };
            output(
                &format!("hls/{}/{file}", rung.name()),
                media_type,
                Some((rung.width, rung.height)),
            )
        })
        .collect())
}

fn output(name: &str, media_type: &str, size: Option<(u32, u32)>) -> ExecOutput {
    ExecOutput {
        name: OutputName::parse(name).expect("HLS output names are valid"),
        media_type: media_type.into(),
        width: size.map(|s| s.0),
        height: size.map(|s| s.1),
        duration_seconds: None,
    }
}

#[cfg(test)]
mod tests;

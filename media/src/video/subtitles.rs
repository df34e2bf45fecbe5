//! Sidecar subtitles (`film.th.vtt`, `film.ar.srt` beside `film.mkv`) as WebVTT, one file per
//! language, checked: UTF-8, every cue's timing readable, starting before the master ends and
//! ending after it starts. SubRip is converted (its `,` decimal mark becomes `.`, its cue
//! numbers become cue identifiers). The files become HLS subtitle renditions and the IIIF
//! manifest's `supplementing` annotations.
//!
//! ```text
//! subtitles/{language}.vtt           the WebVTT file
//! hls/subtitles-{language}.m3u8      its HLS media playlist (one segment: the whole file)
//! ```
//!
//! Written here rather than with a crate: the two formats' timing lines are all that is read,
//! and the result is checked by FFmpeg's WebVTT demuxer (ffprobe) in the tests.

use std::fmt::Write as _;
use std::path::Path;

use caravan_proto::exec::{ExecOutput, SubtitleInput};
use caravan_proto::{OutputName, SubtitleFormat};

use crate::error::PipelineError;

/// A cue may end this long after the master and still be accepted (encoders round the
/// master's duration; subtitle editors round cue ends).
const END_SLACK_SECONDS: f64 = 1.0;

/// The WebVTT file of a language.
pub fn vtt_name(language: &str) -> String {
    format!("subtitles/{language}.vtt")
}

/// The HLS media playlist of a language.
pub fn playlist_name(language: &str) -> String {
    format!("hls/subtitles-{language}.m3u8")
}

/// The language of a subtitle output's name (`subtitles/th.vtt` → `th`).
pub fn language_of(output: &str) -> Option<&str> {
    output.strip_prefix("subtitles/")?.strip_suffix(".vtt")
}

/// Writes every sidecar as WebVTT (and its HLS playlist when `hls` is true) for a master of
/// `duration` seconds; returns the outputs and what the receipt records of each sidecar.
pub fn write(
    out_dir: &Path,
    sidecars: &[SubtitleInput],
    duration: f64,
    hls: bool,
) -> Result<(Vec<ExecOutput>, Vec<serde_json::Value>), PipelineError> {
    let mut outputs = Vec::new();
    let mut described = Vec::new();
    for sidecar in sidecars {
        let bytes = std::fs::read(&sidecar.path).map_err(|e| {
            PipelineError::Subtitles(format!("{}: cannot read it: {e}", sidecar.source_name))
        })?;
        let (vtt, cues) = to_webvtt(&bytes, sidecar.format, duration)
            .map_err(|e| PipelineError::Subtitles(format!("{}: {e}", sidecar.source_name)))?;
        let name = vtt_name(&sidecar.language);
        write_file(out_dir, &name, vtt.as_bytes())?;
        outputs.push(output(&name, "text/vtt"));
        if hls {
            let playlist = playlist_name(&sidecar.language);
            write_file(
                out_dir,
                &playlist,
                media_playlist(&sidecar.language, duration).as_bytes(),
            )?;
            outputs.push(output(&playlist, "application/vnd.apple.mpegurl"));
        }
        described.push(serde_json::json!({
            "source_name": sidecar.source_name,
            "sha256": sidecar.sha256,
            "language": sidecar.language,
            "format": sidecar.format,
            "cues": cues,
        }));
    }
    Ok((outputs, described))
}

/// A VOD playlist whose one segment is the whole WebVTT file.
fn media_playlist(language: &str, duration: f64) -> String {
    let duration = duration.max(0.001);
    format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{}\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:{duration:.3},\n../{}\n#EXT-X-ENDLIST\n",
        duration.ceil() as u64,
        vtt_name(language)
    )
}

/// The `#EXT-X-MEDIA` lines of the master playlist for `languages`, in group `group`.
pub fn master_lines(languages: &[&str], group: &str) -> String {
    let mut lines = String::new();
    for language in languages {
        let _ = writeln!(
            lines,
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"{group}\",NAME=\"{language}\",LANGUAGE=\"{language}\",DEFAULT=NO,AUTOSELECT=YES,URI=\"subtitles-{language}.m3u8\""
        );
    }
    lines
}

/// Lists the renditions of `languages` in `hls/master.m3u8`, every variant stream naming
/// their group.
pub fn add_to_master(out_dir: &Path, languages: &[&str]) -> Result<(), PipelineError> {
    const GROUP: &str = "subs";
    let path = out_dir.join("hls/master.m3u8");
    let io = |source| PipelineError::Output {
        path: path.clone(),
        source,
    };
    let text = std::fs::read_to_string(&path).map_err(io)?;
    let mut master = String::new();
    let mut listed = false;
    for line in text.lines() {
        if line.starts_with("#EXT-X-STREAM-INF:") {
            if !listed {
                master.push_str(&master_lines(languages, GROUP));
                listed = true;
            }
            let _ = writeln!(master, "{line},SUBTITLES=\"{GROUP}\"");
        } else {
            master.push_str(line);
            master.push('\n');
        }
    }
    std::fs::write(&path, master).map_err(io)
}

/// The sidecar as WebVTT, and its number of cues; the error names the line.
pub fn to_webvtt(
    bytes: &[u8],
    format: SubtitleFormat,
    duration: f64,
) -> Result<(String, usize), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("line {line}: not UTF-8 (save the file as UTF-8)")
    })?;
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::from("WEBVTT\n");
    let mut lines = text.lines().enumerate().peekable();
    match format {
        SubtitleFormat::Vtt => {
            let first = lines.next().map(|(_, l)| l).unwrap_or_default();
            if first != "WEBVTT" && !first.starts_with("WEBVTT ") && !first.starts_with("WEBVTT\t")
            {
                return Err("line 1: a WebVTT file starts with \"WEBVTT\"".into());
            }
        }
        SubtitleFormat::Srt => out.push('\n'),
    }
    let mut cues = 0;
    for (index, line) in lines {
        let number = index + 1;
        if line.contains("-->") {
            let (start, end) = timing(line, format).map_err(|e| format!("line {number}: {e}"))?;
            if end <= start {
                return Err(format!("line {number}: the cue ends before it starts"));
            }
            if start >= duration && duration > 0.0 {
                return Err(format!(
                    "line {number}: the cue starts at {start:.3} s, after the master ends ({duration:.3} s)"
                ));
            }
            if end > duration + END_SLACK_SECONDS && duration > 0.0 {
                return Err(format!(
                    "line {number}: the cue ends at {end:.3} s, after the master ends ({duration:.3} s)"
                ));
            }
            cues += 1;
            if format == SubtitleFormat::Srt {
                out.push_str(&line.replace(',', "."));
                out.push('\n');
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if cues == 0 {
        return Err("no cues (no line with a \"-->\" timing)".into());
    }
    Ok((out, cues))
}

/// The start and end (seconds) of a timing line: `00:01:02,500 --> 00:01:04,000` (SubRip) or
/// `01:02.500 --> 01:04.000 align:start` (WebVTT, hours optional, settings after).
fn timing(line: &str, format: SubtitleFormat) -> Result<(f64, f64), String> {
    let (start, rest) = line.split_once("-->").expect("checked by the caller");
    let end = rest.split_whitespace().next().unwrap_or_default();
    let mark = match format {
        SubtitleFormat::Srt => ',',
        SubtitleFormat::Vtt => '.',
    };
    Ok((timestamp(start.trim(), mark)?, timestamp(end, mark)?))
}

fn timestamp(text: &str, mark: char) -> Result<f64, String> {
    let bad = || format!("{text:?} is not a cue time (hh:mm:ss{mark}mmm)");
    let (clock, millis) = text.split_once(mark).ok_or_else(bad)?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let numbers: Vec<f64> = parts.iter().map(|p| p.parse().expect("digits")).collect();
    let (h, m, s) = match numbers[..] {
        [m, s] => (0.0, m, s),
        [h, m, s] => (h, m, s),
        _ => return Err(bad()),
    };
    if m >= 60.0 || s >= 60.0 {
        return Err(bad());
    }
    let millis: f64 = millis.parse().expect("digits");
    Ok(h * 3600.0 + m * 60.0 + s + millis / 1000.0)
}

fn write_file(out_dir: &Path, name: &str, bytes: &[u8]) -> Result<(), PipelineError> {
    let path = out_dir.join(name);
    let io = |source| PipelineError::Output {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(path.parent().expect("names have folders")).map_err(io)?;
    std::fs::write(&path, bytes).map_err(io)
}

fn output(name: &str, media_type: &str) -> ExecOutput {
    ExecOutput {
        name: OutputName::parse(name).expect("subtitle output names are valid"),
        media_type: media_type.into(),
        width: None,
        height: None,
        duration_seconds: None,
    }
}

#[cfg(test)]
mod tests;

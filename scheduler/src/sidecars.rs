//! Subtitle files submitted beside a video master — `film.th.vtt`, `film.ar.srt` next to
//! `film.mkv` — travel with the video's job instead of being submitted on their own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use caravan_proto::{FailureCode, JobKind, Sidecar, SubtitleFormat};
use sha2::{Digest, Sha256};

use crate::metadata::language_tag;
use crate::scan::{ScanOutcome, ScannedFile};

/// A subtitle file is read whole (to hash it here and to convert it in the pipeline); larger
/// than this it is surely not subtitles.
pub const MAX_BYTES: u64 = 16 << 20;

/// A subtitle file found beside a video master.
#[derive(Debug, Clone)]
pub struct Found {
    pub language: String,
    pub format: SubtitleFormat,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub source_name: String,
}

impl Found {
    /// The job's record of it, the file found at `location`.
    pub fn sidecar(&self, location: caravan_proto::MasterLocation) -> Sidecar {
        Sidecar {
            language: self.language.clone(),
            format: self.format,
            location,
            sha256: self.sha256.clone(),
            size: self.size,
            source_name: self.source_name.clone(),
        }
    }
}

/// Takes the subtitle files out of `files`: those beside a video master are returned by the
/// master's `source_name`; one with no video beside it, a bad language tag or too large stays
/// in `files`, rejected saying why.
pub fn pair(files: &mut Vec<ScannedFile>) -> HashMap<String, Vec<Found>> {
    let videos: HashMap<(String, String), String> = (files.iter())
        .filter(|f| {
            matches!(&f.outcome, ScanOutcome::Media { sniffed, .. } if sniffed.kind == JobKind::Video)
        })
        .map(|f| {
            let (folder, name) = split(&f.source_name);
            let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
            ((folder.to_owned(), stem.to_owned()), f.source_name.clone())
        })
        .collect();
    let mut paired: HashMap<String, Vec<Found>> = HashMap::new();
    files.retain_mut(|file| {
        let (folder, name) = split(&file.source_name);
        let Some((stem, language, format)) = Sidecar::parse_name(name) else {
            return true;
        };
        let reject = |file: &mut ScannedFile, message: String| {
            file.outcome = ScanOutcome::Rejected {
                code: FailureCode::InvalidSubtitles,
                message,
            };
            true
        };
        let Some(video) = videos.get(&(folder.to_owned(), stem.to_owned())) else {
            return reject(
                file,
                format!("a subtitle file with no video master {stem}.* beside it; name it after its video (film.mkv → film.th.vtt)"),
            );
        };
        let language = match language_tag(language) {
            Ok(tag) => tag,
            Err(e) => return reject(file, format!("its language: {e}")),
        };
        if file.size > MAX_BYTES {
            return reject(
                file,
                format!("{} bytes is too large for a subtitle file (at most {MAX_BYTES})", file.size),
            );
        }
        let sha256 = match hash(&file.path) {
            Ok(sha256) => sha256,
            Err(e) => return reject(file, format!("cannot read it: {e}")),
        };
        paired.entry(video.clone()).or_default().push(Found {
            language,
            format,
            path: file.path.clone(),
            size: file.size,
            sha256,
            source_name: file.source_name.clone(),
        });
        false
    });
    for found in paired.values_mut() {
        found.sort_by(|a, b| a.language.cmp(&b.language));
        found.dedup_by(|a, b| a.language == b.language);
    }
    paired
}

/// `(folder, file name)` of a `/`-separated relative name.
fn split(source_name: &str) -> (&str, &str) {
    source_name.rsplit_once('/').unwrap_or(("", source_name))
}

fn hash(path: &Path) -> std::io::Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(path)?)))
}

#[cfg(test)]
mod tests;

//! A submission's files as names, sizes and modification times — no file is opened, no object
//! fetched — from a folder ([`list`]) or a prefix of the store ([`list_objects`]), grouped for
//! hashing: by folder, and within a folder cut only where no video can be
//! separated from its subtitle files (`film.mkv`, `film.th.vtt` share what comes before their
//! first dot).

use std::path::{Path, PathBuf};

use caravan_store::Store;

use crate::metadata::METADATA_FILE;
use crate::SchedulerError;

/// One file of the submission, not yet read.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Path relative to the submission folder (or prefix), `/`-separated.
    pub source_name: String,
    /// Where it is on this machine; empty for an object of the store until it is fetched.
    pub path: PathBuf,
    pub size: u64,
    /// Modification time (an object's last-modified time), Unix seconds.
    pub modified: i64,
    /// The object's key, for a file of a store prefix.
    pub object: Option<String>,
}

/// Files hashed together before their subtitle files are paired with their videos.
pub const CHUNK: usize = 256;

/// Every regular file below `root`, grouped by folder, in name order. Hidden files and folders
/// (`.name`), symbolic links and the submission's catalogue are left out.
pub fn list(root: &Path) -> Result<Vec<Listed>, SchedulerError> {
    let meta = std::fs::metadata(root).map_err(|source| SchedulerError::Source {
        path: root.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(SchedulerError::Source {
            path: root.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a folder"),
        });
    }
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| SchedulerError::Source {
            path: e
                .path()
                .map(Path::to_owned)
                .unwrap_or_else(|| root.to_owned()),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        if relative == Path::new(METADATA_FILE) {
            continue; // the submission's catalogue, not a master
        }
        // A file that cannot be stat'ed is listed as empty-sized; hashing it says why.
        let (size, modified) = entry
            .metadata()
            .map_or((0, 0), |m| (m.len(), unix_seconds(&m)));
        files.push(Listed {
            source_name: relative
                .to_string_lossy()
                .replace(std::path::MAIN_SEPARATOR, "/"),
            path: entry.path().to_owned(),
            size,
            modified,
            object: None,
        });
    }
    // A folder's files together, even when subfolders came between them in the walk.
    files.sort_by(|a, b| folder(&a.source_name).cmp(folder(&b.source_name)));
    Ok(files)
}

/// Every object below `prefix` of `store` (masters uploaded straight into the bucket, e.g. by
/// a digitization station), as [`list`] gives a folder's files: named relative to the prefix,
/// hidden objects (a segment starting with `.`) and the catalogue left out, a folder's objects
/// together. One paged listing; nothing is fetched.
pub async fn list_objects(store: &Store, prefix: &str) -> Result<Vec<Listed>, SchedulerError> {
    let below = match prefix.trim_end_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    let mut files = Vec::new();
    for (key, size, modified) in store.list_with_times(&below).await? {
        let relative = key.strip_prefix(&below).unwrap_or(&key).to_owned();
        if relative.is_empty()
            || relative == METADATA_FILE
            || relative.split('/').any(|s| s.starts_with('.'))
        {
            continue;
        }
        let modified = modified
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        files.push(Listed {
            source_name: relative,
            path: PathBuf::new(),
            size,
            modified,
            object: Some(key),
        });
    }
    files.sort_by(|a, b| folder(&a.source_name).cmp(folder(&b.source_name)));
    Ok(files)
}

/// `files` (as [`list`] orders them) cut into groups of about [`CHUNK`]: at a change of folder,
/// or past `CHUNK` where the part of the name before its first dot changes.
pub fn chunks(files: Vec<Listed>) -> Vec<Vec<Listed>> {
    let mut out: Vec<Vec<Listed>> = Vec::new();
    for file in files {
        let cut = match out.last().and_then(|c| c.last()) {
            None => true,
            Some(prev) => {
                folder(&prev.source_name) != folder(&file.source_name)
                    || (out.last().map_or(0, Vec::len) >= CHUNK
                        && first_stem(&prev.source_name) != first_stem(&file.source_name))
            }
        };
        if cut {
            out.push(Vec::new());
        }
        out.last_mut().expect("a chunk was pushed").push(file);
    }
    out
}

/// The folder part of a relative name (`""` at the top).
pub fn folder(source_name: &str) -> &str {
    source_name.rsplit_once('/').map_or("", |(f, _)| f)
}

/// A file name up to its first dot: what a video and its subtitle files share.
fn first_stem(source_name: &str) -> &str {
    let name = source_name.rsplit('/').next().unwrap_or(source_name);
    name.split('.').next().unwrap_or(name)
}

/// A file's modification time as Unix seconds (0 when the platform cannot say).
pub fn unix_seconds(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use crate::listing::*;

    fn listed(name: &str) -> Listed {
        Listed {
            source_name: name.into(),
            path: PathBuf::from(name),
            size: 1,
            modified: 0,
            object: None,
        }
    }

    #[test]
    fn a_video_and_its_subtitles_stay_in_one_chunk_and_folders_split() {
        let mut files: Vec<Listed> = (0..CHUNK - 1)
            .map(|i| listed(&format!("a{i:04}.tif")))
            .collect();
        files.push(listed("film.mkv"));
        files.push(listed("film.th.vtt"));
        files.push(listed("zz.tif"));
        files.push(listed("sub/x.tif"));
        let chunks = chunks(files);
        let names: Vec<Vec<&str>> = (chunks.iter())
            .map(|c| c.iter().map(|f| f.source_name.as_str()).collect())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(
            names[0].len(),
            CHUNK + 1,
            "film and its subtitles are not cut apart"
        );
        assert_eq!(names[0][CHUNK], "film.th.vtt");
        assert_eq!(names[1], ["zz.tif"]);
        assert_eq!(names[2], ["sub/x.tif"]);
    }

    #[test]
    fn files_of_one_folder_come_together_around_subfolders() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.tif", "m/inner.tif", "z.tif"] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let names: Vec<String> = (list(dir.path()).unwrap().into_iter())
            .map(|f| f.source_name)
            .collect();
        assert_eq!(names, ["a.tif", "z.tif", "m/inner.tif"]);
    }

    #[tokio::test]
    async fn a_prefix_lists_its_objects_only_without_hidden_ones_or_the_catalogue() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Local(caravan_store::LocalStore::new(dir.path().to_owned()));
        for key in [
            "incoming/a.tif",
            "incoming/m/inner.tif",
            "incoming/z.tif",
            "incoming/.DS_Store",
            "incoming/.partial/b.tif",
            "incoming/caravan-metadata.csv",
            "incoming-2/other.tif",
        ] {
            store
                .put_bytes(key, b"x".to_vec(), "image/tiff")
                .await
                .unwrap();
        }
        let listed = list_objects(&store, "incoming").await.unwrap();
        let names: Vec<(&str, &str)> = (listed.iter())
            .map(|f| (f.source_name.as_str(), f.object.as_deref().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                ("a.tif", "incoming/a.tif"),
                ("z.tif", "incoming/z.tif"),
                ("m/inner.tif", "incoming/m/inner.tif")
            ]
        );
        assert!(listed.iter().all(|f| f.size == 1 && f.modified > 0));
    }
}

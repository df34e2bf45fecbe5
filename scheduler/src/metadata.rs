//! The submission's catalogue: `caravan-metadata.csv` at the top of the submitted folder (or
//! under the store prefix), one row per master, as a digitization team exports it from its
//! spreadsheet or collection system:
//!
//! ```csv
//! file,title,creator,rights,rights_uri
//! reels/kmv-001.mkv,"Kuwait, 1962 — home movie",Studio Al-Funun,© Sharjah Museums,http://rightsstatements.org/vocab/InC/1.0/
//! prints/hokusai.tif,神奈川沖浪裏,葛飾北斎,Public domain,http://creativecommons.org/publicdomain/mark/1.0/
//! ```
//!
//! `file` is the path relative to the folder; the other columns are optional and any may be
//! left empty. UTF-8 (with or without the byte-order mark spreadsheets write); comma, semicolon
//! or tab separated (read off the header line). The file itself is not a master.

use std::collections::HashMap;

use caravan_proto::AssetMetadata;

/// The catalogue's file name.
pub const METADATA_FILE: &str = "caravan-metadata.csv";

const COLUMNS: [&str; 5] = ["file", "title", "creator", "rights", "rights_uri"];

/// Metadata by file (relative path, `/`-separated).
#[derive(Debug, Default)]
pub struct Catalogue {
    by_file: HashMap<String, AssetMetadata>,
}

impl Catalogue {
    /// Parses the catalogue's text; an error names the line and what to fix.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let header = text.lines().next().unwrap_or_default();
        let delimiter = [b',', b';', b'\t']
            .into_iter()
            .max_by_key(|d| header.bytes().filter(|b| b == d).count())
            .unwrap_or(b',');
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| format!("{METADATA_FILE}: {e}"))?
            .iter()
            .map(|h| h.trim().to_lowercase())
            .collect();
        if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
            return Err(format!(
                "{METADATA_FILE}: unknown column {unknown:?}; the columns are {}",
                COLUMNS.join(", ")
            ));
        }
        let column = |name: &str| headers.iter().position(|h| h == name);
        let file_column = column("file")
            .ok_or_else(|| format!("{METADATA_FILE}: the header has no \"file\" column"))?;
        let mut by_file = HashMap::new();
        for (n, row) in reader.records().enumerate() {
            let line = n + 2;
            let row = row.map_err(|e| format!("{METADATA_FILE} line {line}: {e}"))?;
            let cell = |name: &str| {
                column(name)
                    .and_then(|c| row.get(c))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            let file = row
                .get(file_column)
                .map(normalise)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| format!("{METADATA_FILE} line {line}: the file cell is empty"))?;
            let metadata = AssetMetadata {
                title: cell("title"),
                creator: cell("creator"),
                rights: cell("rights"),
                rights_uri: cell("rights_uri"),
            };
            if let Some(uri) = &metadata.rights_uri {
                if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                    return Err(format!(
                        "{METADATA_FILE} line {line}: rights_uri {uri:?} is not a web address; use a RightsStatements.org or Creative Commons URI"
                    ));
                }
            }
            if by_file.insert(file.clone(), metadata).is_some() {
                return Err(format!(
                    "{METADATA_FILE} line {line}: {file:?} is listed twice"
                ));
            }
        }
        Ok(Self { by_file })
    }

    /// The metadata of the master submitted as `source_name` (empty if it has no row).
    pub fn get(&self, source_name: &str) -> AssetMetadata {
        self.by_file
            .get(&normalise(source_name))
            .cloned()
            .unwrap_or_default()
    }

    /// Rows naming none of `names`: a typo in the catalogue, or a file missing from the folder.
    pub fn unmatched<'a>(&'a self, names: &[&str]) -> Vec<&'a str> {
        let names: std::collections::HashSet<String> = names.iter().map(|n| normalise(n)).collect();
        let mut left: Vec<&str> = self
            .by_file
            .keys()
            .filter(|f| !names.contains(*f))
            .map(String::as_str)
            .collect();
        left.sort_unstable();
        left
    }

    pub fn len(&self) -> usize {
        self.by_file.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_file.is_empty()
    }
}

/// `./a\b.tif` → `a/b.tif`.
fn normalise(path: &str) -> String {
    let path = path.trim().replace('\\', "/");
    path.trim_start_matches("./").to_owned()
}

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
//! left empty: `title`, `creator`, `description`, `attribution` (the credit line), `rights`,
//! `rights_uri`, `date` (as the catalogue writes it) and `digital_source_type`, how the work was
//! made, as an IPTC digital source type (`digitalCapture`, `trainedAlgorithmicMedia` for
//! AI-generated art …). The text columns also come per language, `title@th`, `title@ar`,
//! `description@fr`, `creator@zh-Hant` (BCP 47 tags, checked and written canonically); an
//! untagged text column is in the submission's language (`--language`). UTF-8 (with or without
//! the byte-order mark spreadsheets write); comma, semicolon or tab separated (read off the
//! header line). The file itself is not a master.

use std::collections::{BTreeMap, HashMap};

use caravan_proto::metadata::{TextField, Texts, DIGITAL_SOURCE_TYPES};
use caravan_proto::AssetMetadata;
use icu_locale_core::LanguageIdentifier;

/// The catalogue's file name.
pub const METADATA_FILE: &str = "caravan-metadata.csv";

/// Columns that hold one value whatever the language (the text columns of
/// [`TextField`] may also come tagged: `title@th`).
const COLUMNS: [&str; 4] = ["file", "rights_uri", "digital_source_type", "date"];

/// `tag` as a BCP 47 language tag in canonical form (`ZH-hant` → `zh-Hant`), or what is wrong.
pub fn language_tag(tag: &str) -> Result<String, String> {
    let parsed = LanguageIdentifier::try_from_str(tag.trim()).map_err(|_| {
        format!("{tag:?} is not a BCP 47 language tag (examples: en, th, ar, zh-Hant, fr-CA)")
    })?;
    if parsed.language.is_unknown() {
        return Err(format!(
            "{tag:?} names no language; use a BCP 47 language tag (examples: en, th, ar, zh-Hant)"
        ));
    }
    Ok(parsed.to_string())
}

/// What a header cell names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// `file`, `rights_uri`, `digital_source_type`, `date`.
    Plain(&'static str),
    /// A text in the submission's language (`title`) or in another (`title@th`).
    Text(TextField, Option<String>),
}

fn column_of(header: &str, language: Option<&str>) -> Result<Column, String> {
    let (name, tag) = match header.split_once('@') {
        Some((name, tag)) => (name, Some(tag)),
        None => (header, None),
    };
    if let Some(field) = TextField::from_column(name) {
        let tag = match tag {
            None => None,
            Some(tag) => {
                let tag = language_tag(tag).map_err(|e| format!("column {header:?}: {e}"))?;
                // The submission's own language is the untagged column.
                (language != Some(tag.as_str())).then_some(tag)
            }
        };
        return Ok(Column::Text(field, tag));
    }
    match COLUMNS.iter().find(|c| **c == name) {
        Some(plain) if tag.is_none() => Ok(Column::Plain(plain)),
        Some(_) => Err(format!(
            "column {header:?}: only the text columns ({}) take a language",
            TextField::ALL.map(TextField::column).join(", ")
        )),
        None => Err(format!(
            "unknown column {header:?}; the columns are {}, {} (the text columns also as name@language, e.g. title@th)",
            COLUMNS.join(", "),
            TextField::ALL.map(TextField::column).join(", ")
        )),
    }
}

/// Metadata by file (relative path, `/`-separated).
#[derive(Debug, Default)]
pub struct Catalogue {
    by_file: HashMap<String, AssetMetadata>,
}

impl Catalogue {
    /// Parses the catalogue's text, whose untagged text columns are in `language` (a BCP 47
    /// tag, canonical; `None`: not said); an error names the line and what to fix.
    pub fn parse(text: &str, language: Option<&str>) -> Result<Self, String> {
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
        let mut columns: Vec<Column> = Vec::new();
        for header in reader
            .headers()
            .map_err(|e| format!("{METADATA_FILE}: {e}"))?
            .iter()
        {
            let header = header.trim().to_lowercase();
            let column =
                column_of(&header, language).map_err(|e| format!("{METADATA_FILE}: {e}"))?;
            if columns.contains(&column) {
                return Err(format!(
                    "{METADATA_FILE}: column {header:?} comes twice (an untagged text column is in the submission's language{})",
                    language.map(|l| format!(", {l}")).unwrap_or_default()
                ));
            }
            columns.push(column);
        }
        let plain =
            |name: &str| (columns.iter()).position(|c| matches!(c, Column::Plain(p) if *p == name));
        let file_column = plain("file")
            .ok_or_else(|| format!("{METADATA_FILE}: the header has no \"file\" column"))?;
        let mut by_file = HashMap::new();
        for (n, row) in reader.records().enumerate() {
            let line = n + 2;
            let row = row.map_err(|e| format!("{METADATA_FILE} line {line}: {e}"))?;
            let value = |c: usize| {
                row.get(c)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            let cell = |name: &str| plain(name).and_then(value);
            let file = row
                .get(file_column)
                .map(normalise)
                .filter(|f| !f.is_empty())
                .ok_or_else(|| format!("{METADATA_FILE} line {line}: the file cell is empty"))?;
            let mut texts = Texts::default();
            let mut translations: BTreeMap<String, Texts> = BTreeMap::new();
            for (c, column) in columns.iter().enumerate() {
                if let Column::Text(field, tag) = column {
                    let Some(text) = value(c) else { continue };
                    let into = match tag {
                        None => &mut texts,
                        Some(tag) => translations.entry(tag.clone()).or_default(),
                    };
                    *field.of_mut(into) = Some(text);
                }
            }
            // The submission's language is recorded where a text is in it.
            let language = (texts != Texts::default())
                .then(|| language.map(str::to_owned))
                .flatten();
            let metadata = AssetMetadata {
                title: texts.title,
                creator: texts.creator,
                rights: texts.rights,
                rights_uri: cell("rights_uri"),
                digital_source_type: cell("digital_source_type"),
                description: texts.description,
                date: cell("date"),
                attribution: texts.attribution,
                language,
                translations,
            };
            if let Some(kind) = &metadata.digital_source_type {
                if !DIGITAL_SOURCE_TYPES.contains(&kind.as_str()) {
                    return Err(format!(
                        "{METADATA_FILE} line {line}: digital_source_type {kind:?} is not an IPTC digital source type; use one of {}",
                        DIGITAL_SOURCE_TYPES.join(", ")
                    ));
                }
            }
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

#[cfg(test)]
mod tests;

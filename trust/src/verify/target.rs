//! What a path given to `caravan verify` names: a store's root (an output folder of `caravan
//! run`, or a copy of a bucket), a folder or prefix inside it, or one object.

use std::path::{Path, PathBuf};

/// Which part of a store to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything: every receipt and derivative, and the whole log entry by entry.
    All,
    /// Every object whose key starts with this (`derivatives/<sha256>/`), with the receipts
    /// they belong to.
    Prefix(String),
    /// One derivative, receipt or signature.
    Object(String),
}

/// A store root on disk and the scope of `path` in it: the nearest folder at or above `path`
/// that holds `receipts/` (or `log/`) is the root.
pub fn resolve_local(path: &Path) -> Result<(PathBuf, Scope), String> {
    let path = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let is_root = |dir: &Path| dir.join("receipts").is_dir() || dir.join("log").is_dir();
    let root = path
        .ancestors()
        .find(|dir| dir.is_dir() && is_root(dir))
        .ok_or_else(|| {
            format!(
                "{} is not inside a Caravan output folder (no receipts/ at or above it); point at the folder `caravan run --out` wrote, or at a file in it",
                path.display()
            )
        })?
        .to_owned();
    let relative = path
        .strip_prefix(&root)
        .expect("the root is an ancestor")
        .to_string_lossy()
        .replace(std::path::MAIN_SEPARATOR, "/");
    let scope = if relative.is_empty() {
        Scope::All
    } else if path.is_dir() {
        Scope::Prefix(format!("{relative}/"))
    } else {
        Scope::Object(relative)
    };
    Ok((root, scope))
}

/// The scope of a store prefix (`s3://<bucket>/<prefix>`'s prefix).
pub fn of_prefix(prefix: &str) -> Scope {
    let prefix = prefix.trim_start_matches('/');
    if prefix.is_empty() {
        Scope::All
    } else if caravan_proto::keys::parse_receipt(prefix.strip_suffix(".sig").unwrap_or(prefix))
        .is_some()
    {
        Scope::Object(prefix.to_owned())
    } else {
        Scope::Prefix(prefix.to_owned())
    }
}

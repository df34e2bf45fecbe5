//! Object keys: `/`-separated relative paths, nothing that could escape the store's root.

use crate::error::StoreError;

/// Splits a key into checked path components.
pub(crate) fn key_components(key: &str) -> Result<Vec<&str>, StoreError> {
    let parts: Vec<&str> = key.split('/').collect();
    let bad = parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0') || p.contains('\\'));
    if key.is_empty() || bad {
        return Err(StoreError::InvalidKey {
            key: key.chars().take(200).collect(),
        });
    }
    Ok(parts)
}

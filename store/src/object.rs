//! What the store says of an object it wrote or read.

/// Size and SHA-256 of an object as it was written or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub size: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

//! Validated identifiers. Each one is safe to put into an object key or a queue name.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string was refused as an identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError {
    what: &'static str,
    value: String,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.value.chars().take(80).collect();
        write!(f, "invalid {}: {:?}", self.what, shown)
    }
}

impl std::error::Error for IdError {}

macro_rules! validated_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value`.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(IdError { what: $what, value })
                }
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn is_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !s.contains("..")
}

validated_id!(
    /// An asset's identity: the lowercase hex SHA-256 of its master file.
    AssetId,
    "asset id (expected 64 lowercase hex digits, the SHA-256 of the master)",
    |s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
);

validated_id!(
    /// A processing profile's name: letters, digits, `-`, `_`, `.`; at most 64 bytes.
    ProfileName,
    "profile name (letters, digits, '-', '_', '.'; at most 64)",
    |s| is_slug(s, 64)
);

validated_id!(
    /// A batch's id: letters, digits, `-`, `_`, `.`; at most 96 bytes.
    BatchId,
    "batch id (letters, digits, '-', '_', '.'; at most 96)",
    |s| is_slug(s, 96)
);

validated_id!(
    /// The name of one output of a pipeline, e.g. `access.jpg`, or a relative path of such
    /// segments for outputs that come as a tree (IIIF tiles: `iiif/0,0,512,512/512,512/0/default.jpg`).
    OutputName,
    "output name ('/'-separated segments of letters, digits, '-', '_', '.', ','; at most 256)",
    |s| s.len() <= 256 && !s.is_empty() && s.split('/').all(|seg| is_slug(&seg.replace(',', "_"), 128))
);

impl ProfileName {
    /// The built-in profile every worker knows.
    pub fn default_profile() -> Self {
        Self("default".to_owned())
    }
}

impl BatchId {
    /// A fresh batch id: UTC time to the second plus a random suffix, so ids sort by time.
    pub fn generate() -> Self {
        let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("{now}-{}", &suffix[..8]))
    }
}

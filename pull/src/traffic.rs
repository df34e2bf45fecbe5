//! What a pull moved: bytes read from the source and downloads resumed, over every file.

use std::sync::atomic::AtomicU64;

#[derive(Debug, Default)]
pub(crate) struct Traffic {
    pub bytes: AtomicU64,
    pub retries: AtomicU64,
}

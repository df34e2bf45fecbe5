use sha2::{Digest, Sha256};

/// SHA-256 and byte count of a stream, fed chunk by chunk.
#[derive(Default)]
pub(crate) struct HashingCounter {
    hasher: Sha256,
    size: u64,
}

impl HashingCounter {
    pub(crate) fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
    }

    pub(crate) fn finish(self) -> crate::object::ObjectSummary {
        crate::object::ObjectSummary {
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

//! What a pull tells its caller as it goes, for a progress bar.

/// Told how the pull goes, for a progress bar.
pub trait Progress: Send + Sync {
    /// The payload's files and bytes (from `Payload-Oxum`, when the bag gives it).
    fn planned(&self, files: usize, bytes: Option<u64>);
    /// More bytes in place (or found already there).
    fn landed(&self, bytes: u64);
}

/// No progress shown.
#[derive(Debug)]
pub struct Quiet;

impl Progress for Quiet {
    fn planned(&self, _: usize, _: Option<u64>) {}
    fn landed(&self, _: u64) {}
}

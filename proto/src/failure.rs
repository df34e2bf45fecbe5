//! The catalogue of failure codes: every classification a scan, a job, a store or a queue
//! operation can end with, each with a one-line meaning and what to do about it.
//!
//! Codes travel as plain strings in events, failure records and batch indexes (so a code a
//! newer binary adds still parses in an older one); every crate that produces one takes it
//! from here, and README's failure table lists the same codes (a test checks it).

use std::fmt;

/// Why something did not become a derivative. [`FailureCode::as_str`] is the stable string on
/// the wire; [`FailureCode::meaning`] and [`FailureCode::remedy`] are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureCode {
    // The master itself (permanent: the same master fails the same way again).
    UndecodableInput,
    UnsupportedFormat,
    NoVideoStream,
    LimitsExceeded,
    MasterMismatch,
    EmptyFile,
    Unreadable,
    InvalidSubtitles,
    // The pipeline process.
    PipelineCrashed,
    PipelinePanicked,
    PipelineTimeout,
    PipelineSpawn,
    EncodeFailed,
    WatermarkFailed,
    ProfileFileUnreadable,
    SigningFailed,
    OutputIo,
    // The worker and its settings.
    UnknownProfile,
    ScratchIo,
    WorkerShutdown,
    RetriesExhausted,
    DeliveryLimitExceeded,
    DeadLettered,
    // The store.
    StoreNotFound,
    StoreInvalidKey,
    StoreUnavailable,
    StoreRefused,
    StoreConfig,
    LocalIo,
    Cancelled,
    // The queue.
    QueueUnavailable,
    QueueRefused,
    QueueNotConfirmed,
    QueueEncode,
    QueueClosed,
}

impl FailureCode {
    /// Every code, in the order README's table lists them.
    pub const ALL: &'static [FailureCode] = &[
        FailureCode::UndecodableInput,
        FailureCode::UnsupportedFormat,
        FailureCode::NoVideoStream,
        FailureCode::LimitsExceeded,
        FailureCode::MasterMismatch,
        FailureCode::EmptyFile,
        FailureCode::Unreadable,
        FailureCode::InvalidSubtitles,
        FailureCode::PipelineCrashed,
        FailureCode::PipelinePanicked,
        FailureCode::PipelineTimeout,
        FailureCode::PipelineSpawn,
        FailureCode::EncodeFailed,
        FailureCode::WatermarkFailed,
        FailureCode::ProfileFileUnreadable,
        FailureCode::SigningFailed,
        FailureCode::OutputIo,
        FailureCode::UnknownProfile,
        FailureCode::ScratchIo,
        FailureCode::WorkerShutdown,
        FailureCode::RetriesExhausted,
        FailureCode::DeliveryLimitExceeded,
        FailureCode::DeadLettered,
        FailureCode::StoreNotFound,
        FailureCode::StoreInvalidKey,
        FailureCode::StoreUnavailable,
        FailureCode::StoreRefused,
        FailureCode::StoreConfig,
        FailureCode::LocalIo,
        FailureCode::Cancelled,
        FailureCode::QueueUnavailable,
        FailureCode::QueueRefused,
        FailureCode::QueueNotConfirmed,
        FailureCode::QueueEncode,
        FailureCode::QueueClosed,
    ];

    /// The code as it appears in events, failure records, summaries and logs.
    pub const fn as_str(self) -> &'static str {
        self.entry().0
    }

    /// What the code means, in one line.
    pub const fn meaning(self) -> &'static str {
        self.entry().1
    }

    /// What to do about it, in one line.
    pub const fn remedy(self) -> &'static str {
        self.entry().2
    }

    /// The code written as `text`, if this binary knows it.
    pub fn parse(text: &str) -> Option<FailureCode> {
        Self::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    const fn entry(self) -> (&'static str, &'static str, &'static str) {
        use FailureCode::*;
        match self {
            UndecodableInput => (
                "undecodable_input",
                "the master is corrupt, truncated or not what its header claims",
                "check the file (does it open in another tool?) and submit a good copy",
            ),
            UnsupportedFormat => (
                "unsupported_format",
                "the content is not a format (or a variant of one) Caravan processes",
                "convert the master to a supported format (README lists them) and submit it again",
            ),
            NoVideoStream => (
                "no_video_stream",
                "a video container holds no video stream",
                "submit audio-only files to an audio pipeline",
            ),
            LimitsExceeded => (
                "limits_exceeded",
                "the master is larger, longer or needs more memory than the profile's limits allow",
                "raise `limits` in the profile (and the worker's memory) if the master is genuine",
            ),
            MasterMismatch => (
                "master_mismatch",
                "the stored master's bytes differ from its asset id (its SHA-256)",
                "the copy was damaged in transit or in the store: submit the file again",
            ),
            EmptyFile => (
                "empty_file",
                "the file is empty",
                "submit the real master",
            ),
            Unreadable => (
                "unreadable",
                "the file could not be read during the scan",
                "check its permissions and the disk, then submit again",
            ),
            InvalidSubtitles => (
                "invalid_subtitles",
                "a subtitle file beside the master is not UTF-8 SRT or WebVTT, or has a cue outside the master's duration",
                "fix the subtitle file (the message names it and the line) and submit again with --retry-failed",
            ),
            PipelineCrashed => (
                "pipeline_crashed",
                "the pipeline process died without reporting (a decoder crash or its memory cap)",
                "the master is probably damaged or hostile; if genuine, raise limits.memory_mib",
            ),
            PipelinePanicked => (
                "pipeline_panicked",
                "a decoder panicked on the master",
                "the master is probably damaged or hostile; report it with the file if it opens elsewhere",
            ),
            PipelineTimeout => (
                "pipeline_timeout",
                "the pipeline ran longer than limits.timeout_seconds and was stopped",
                "raise limits.timeout_seconds in the profile if the master is genuinely that long",
            ),
            PipelineSpawn => (
                "pipeline_spawn",
                "the worker could not start its pipeline process",
                "check the worker's binary, memory and process limits; the job is retried",
            ),
            EncodeFailed => (
                "encode_failed",
                "an encoder refused the decoded pictures or sound",
                "report it with the master and its receipt's tool versions",
            ),
            WatermarkFailed => (
                "watermark_failed",
                "the profile's watermark cannot be drawn (logo or font unreadable)",
                "fix the watermark settings or files named in the profile",
            ),
            ProfileFileUnreadable => (
                "profile_file_unreadable",
                "a file the profile names (such as its default CMYK profile) cannot be read on this worker",
                "install the file on every worker or fix its path in the profile, then submit again with --retry-failed",
            ),
            SigningFailed => (
                "signing_failed",
                "an output's content credentials, its receipt's signature or its log entry could not be made",
                "check the worker's signing key and certificate files; report it with the output's format",
            ),
            OutputIo => (
                "output_io",
                "an output could not be written to the worker's scratch folder",
                "check free space in the worker's scratch folder; the job is retried",
            ),
            UnknownProfile => (
                "unknown_profile",
                "the worker has no profile of the job's name",
                "deploy the same profiles file to every worker and submit again with --retry-failed",
            ),
            ScratchIo => (
                "scratch_io",
                "the worker's scratch folder could not be used",
                "check free disk space and permissions on the worker; the job is retried",
            ),
            WorkerShutdown => (
                "worker_shutdown",
                "the worker stopped before the job finished",
                "nothing: the job went back to the queue for another worker",
            ),
            RetriesExhausted => (
                "retries_exhausted",
                "a transient failure (store, broker, disk) repeated until the attempts ran out",
                "fix what the last error names, then submit again with --retry-failed",
            ),
            DeliveryLimitExceeded => (
                "delivery_limit_exceeded",
                "the broker gave up on a job whose workers kept dying while processing it",
                "read the named worker's logs (out-of-memory kill?), then submit again with --retry-failed",
            ),
            DeadLettered => (
                "dead_lettered",
                "the broker dead-lettered the job for another reason (rejected, expired)",
                "inspect the dead-letter queue and the broker's logs",
            ),
            StoreNotFound => (
                "store_not_found",
                "an object the job needs is not in the store",
                "submit the batch again so its masters are uploaded",
            ),
            StoreInvalidKey => (
                "store_invalid_key",
                "an object key could escape its prefix and was refused",
                "report it: keys are built from validated ids only",
            ),
            StoreUnavailable => (
                "store_unavailable",
                "the store could not be reached, answered 5xx or throttled",
                "check that the S3 server is running and reachable; Caravan retries",
            ),
            StoreRefused => (
                "store_refused",
                "the store refused an operation (permissions, bucket)",
                "check the bucket name and the credentials' permissions",
            ),
            StoreConfig => (
                "store_config",
                "the store is not configured",
                "set CARAVAN_S3_* (or --store-dir)",
            ),
            LocalIo => (
                "local_io",
                "a local file of the folder store could not be read or written",
                "check the folder's free space and permissions",
            ),
            Cancelled => (
                "cancelled",
                "a transfer was cancelled because the worker is shutting down",
                "nothing: the job goes back to the queue",
            ),
            QueueUnavailable => (
                "queue_unavailable",
                "RabbitMQ could not be reached or did not answer",
                "check that the broker is running and the URL and credentials are right; Caravan retries",
            ),
            QueueRefused => (
                "queue_refused",
                "RabbitMQ refused an operation",
                "check the broker's logs and the user's permissions",
            ),
            QueueNotConfirmed => (
                "queue_not_confirmed",
                "the broker did not confirm a publish",
                "nothing: it is published again",
            ),
            QueueEncode => (
                "queue_encode",
                "a message could not be encoded",
                "report it with the batch",
            ),
            QueueClosed => (
                "queue_closed",
                "the queue was closed (shutdown)",
                "nothing: run the command again",
            ),
        }
    }
}

impl From<FailureCode> for String {
    fn from(code: FailureCode) -> String {
        code.as_str().to_owned()
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;

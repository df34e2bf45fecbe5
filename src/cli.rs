//! Command-line arguments. Every option can also be set in the environment (`CARAVAN_*`); the
//! command line wins. Secrets come only from the environment or `*_FILE` paths.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "caravan",
    version,
    about = "Distributed media processing for cultural-heritage digitization"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CARAVAN_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process a folder on this machine: scheduler, queue and workers in one process, outputs in
    /// a local folder. No broker or S3 needed.
    Run(RunArgs),
    /// Take jobs from RabbitMQ and store outputs in S3 (or a shared folder) until stopped.
    Worker(WorkerArgs),
    /// Submit a folder of masters as a batch: upload, queue, follow, summarize.
    Submit(SubmitArgs),
    /// Show what became of a batch.
    Status(StatusArgs),
    /// Run one pipeline for a worker (internal: reads a request on stdin).
    #[command(hide = true)]
    ExecJob,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Folder of masters (searched recursively; files are recognised by content).
    pub source: PathBuf,
    /// Folder for derivatives, receipts and the batch index.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Jobs processed at once (default: number of cores).
    #[arg(long, env = "CARAVAN_WORKERS")]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Process again assets whose earlier job failed permanently.
    #[arg(long)]
    pub retry_failed: bool,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Jobs processed at once; also the broker prefetch (default: number of cores).
    #[arg(long, env = "CARAVAN_SLOTS")]
    pub slots: Option<usize>,
    /// Job kinds to take.
    #[arg(
        long,
        env = "CARAVAN_KINDS",
        value_delimiter = ',',
        default_value = "image,video"
    )]
    pub kinds: Vec<caravan_proto::JobKind>,
    /// Root of per-job scratch folders (default: the system temp folder).
    #[arg(long, env = "CARAVAN_SCRATCH_DIR")]
    pub scratch_dir: Option<PathBuf>,
    /// Attempts at a job that keeps failing transiently.
    #[arg(long, env = "CARAVAN_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: u32,
    /// Seconds jobs in flight may run on after SIGTERM.
    #[arg(long, env = "CARAVAN_SHUTDOWN_GRACE", default_value_t = 60)]
    pub shutdown_grace: u64,
    /// First retry delay in milliseconds (doubled per attempt).
    #[arg(long, env = "CARAVAN_RETRY_BASE_MS", default_value_t = 2000)]
    pub retry_base_ms: u64,
    /// Profiles file (TOML); the built-in `default` profile is always there.
    #[arg(long, env = "CARAVAN_PROFILES")]
    pub profiles: Option<PathBuf>,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Folder of masters (searched recursively; files are recognised by content), or
    /// `s3://<bucket>/<prefix>` for masters already uploaded under a prefix of the bucket.
    pub source: String,
    #[arg(long, env = "CARAVAN_PROFILE", default_value = "default")]
    pub profile: String,
    /// Return once the batch is published instead of waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,
    /// Publish again assets whose earlier job failed permanently.
    #[arg(long)]
    pub retry_failed: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The batch id that `submit` printed.
    pub batch: String,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Profile to process with.
    #[arg(long, env = "CARAVAN_PROFILE", default_value = "default")]
    pub profile: String,
    /// Profiles file (TOML); the built-in `default` profile is always there.
    #[arg(long, env = "CARAVAN_PROFILES")]
    pub profiles: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// RabbitMQ URL; add `?heartbeat=30` to detect dead peers sooner.
    #[arg(
        long,
        env = "CARAVAN_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=30",
        hide_env_values = true
    )]
    pub amqp_url: String,
    /// Prefix of every exchange and queue name.
    #[arg(long, env = "CARAVAN_QUEUE_PREFIX", default_value = "caravan")]
    pub queue_prefix: String,
    /// Deliveries after which a job goes to the dead-letter queue.
    #[arg(long, env = "CARAVAN_DELIVERY_LIMIT", default_value_t = 5)]
    pub delivery_limit: u32,
    /// Minutes a job may run unacknowledged before the broker hands it to another worker; must
    /// exceed the longest job (RabbitMQ ≥ 3.12 applies it per queue, older brokers use their
    /// global `consumer_timeout`).
    #[arg(long, env = "CARAVAN_CONSUMER_TIMEOUT_MINUTES", default_value_t = 300)]
    pub consumer_timeout_minutes: u64,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Use a folder (e.g. a shared mount) as the store instead of S3. Without it, S3 settings
    /// come from CARAVAN_S3_ENDPOINT, _REGION, _BUCKET, _ACCESS_KEY_ID[_FILE] and
    /// _SECRET_ACCESS_KEY[_FILE].
    #[arg(long, env = "CARAVAN_STORE_DIR")]
    pub store_dir: Option<PathBuf>,
    /// Create the S3 bucket if it does not exist.
    #[arg(long, env = "CARAVAN_S3_CREATE_BUCKET")]
    pub create_bucket: bool,
}

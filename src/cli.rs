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
    /// Check derivatives against their receipts, signatures, content credentials and the
    /// transparency log, offline: an output folder, a receipt, a derivative, or
    /// `s3://<bucket>/<prefix>`. Exits 1 if anything fails.
    Verify(VerifyArgs),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Exhibitions: one pack per site (BagIt, IIIF manifests under the site's address).
    #[command(subcommand)]
    Exhibition(ExhibitionCommand),
    /// Download an exhibition pack (a BagIt bag) from an HTTP(S) address or a folder, resumably
    /// and in parallel, checking every file against the bag's SHA-256 manifest as it lands.
    /// Exits 0 when the folder holds the whole pack, 3 when files did not match (kept aside in
    /// `<dir>/.caravan-pull/rejected/`), 4 when the link expired or was refused, 5 when the
    /// network gave up, 2 for an address that is not a pack's.
    Pull(PullArgs),
    /// Run one pipeline for a worker (internal: reads a request on stdin, or from the file
    /// named, as the benchmarks run it).
    #[command(hide = true)]
    ExecJob { request: Option<std::path::PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new Ed25519 signing key, its public key and key id, and (for development and
    /// tests only) a throw-away C2PA CA and certificate, into a folder.
    Generate { dir: PathBuf },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An output folder (or a copy of a bucket), a folder or file in it, or
    /// `s3://<bucket>/<prefix>` of the configured bucket.
    pub path: String,
    /// The archive's public key (PEM): signatures must verify with it. Without it, the key
    /// published in the store is used, and the report says so.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// A tree head you kept from earlier (`log/tree-heads/<size>.json`, its `.sig` beside it):
    /// the log must still extend it.
    #[arg(long)]
    pub tree_head: Option<PathBuf>,
    /// Fail on receipts made without a signing key too.
    #[arg(long)]
    pub require_signed: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The signing key: a folder from `caravan keys generate`, or the key and certificate chain
/// files (as Kubernetes mounts secrets).
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// Folder written by `caravan keys generate`.
    #[arg(long, env = "CARAVAN_SIGNING_DIR")]
    pub signing_dir: Option<PathBuf>,
    /// The Ed25519 private key, PKCS#8 PEM.
    #[arg(long, env = "CARAVAN_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// The key's certificate chain (PEM, the key's certificate first) for content credentials.
    #[arg(long, env = "CARAVAN_C2PA_CERT_FILE")]
    pub c2pa_cert_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CatalogueArgs {
    /// The language of the catalogue's untagged text columns (`title`, `description` …), as a
    /// BCP 47 tag: `en`, `th`, `ar`, `zh-Hant`. Tagged columns (`title@th`) say their own.
    #[arg(long, env = "CARAVAN_LANGUAGE", value_parser = parse_language)]
    pub language: Option<String>,
}

fn parse_language(tag: &str) -> Result<String, String> {
    caravan_scheduler::metadata::language_tag(tag)
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
    #[command(flatten)]
    pub catalogue: CatalogueArgs,
    #[command(flatten)]
    pub signing: SigningArgs,
    /// Serve Prometheus metrics (`/metrics`), `/healthz` and `/readyz` on this address
    /// (e.g. `127.0.0.1:9464`).
    #[arg(long, env = "CARAVAN_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
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
    pub signing: SigningArgs,
    /// Serve Prometheus metrics (`/metrics`), `/healthz` and `/readyz` on this address
    /// (`0.0.0.0:9464` in a container).
    #[arg(long, env = "CARAVAN_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Folder of masters (searched recursively; files are recognised by content), or
    /// `s3://<bucket>/<prefix>` for masters already uploaded under a prefix of the bucket.
    /// With `--resume`, the batch's own source unless given.
    #[arg(required_unless_present = "resume")]
    pub source: Option<String>,
    #[arg(long, env = "CARAVAN_PROFILE", default_value = "default")]
    pub profile: String,
    /// Return once the batch is published instead of waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,
    /// Go on with an interrupted submission (Ctrl-C, a crash, a lost link): files its index
    /// records unchanged (size and modification time) are not read, uploaded or published
    /// again.
    /// Submitting the same source again with the same profile does the same.
    #[arg(long, value_name = "BATCH_ID", conflicts_with = "new_batch")]
    pub resume: Option<String>,
    /// Start a batch of its own even if this source has an interrupted one.
    #[arg(long)]
    pub new_batch: bool,
    /// Masters checked, uploaded and published at the same time (each large master's parts
    /// go several at a time on top).
    #[arg(long, value_name = "N", default_value_t = caravan_scheduler::submit::DEFAULT_UPLOADS)]
    pub uploads: usize,
    /// Publish again assets whose earlier job failed permanently.
    #[arg(long)]
    pub retry_failed: bool,
    #[command(flatten)]
    pub catalogue: CatalogueArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExhibitionCommand {
    /// Write each site's pack of an exhibition file's works: a BagIt bag of the site's
    /// derivatives, their receipts, IIIF manifests under the site's base URL, a IIIF
    /// Collection and an offline viewer (index.html). Works never processed with a site's
    /// profile are processed first (in process with `--store-dir`, else through the broker).
    /// Stored under `packs/<exhibition>/<site>/`, or written to `--out`.
    Build(ExhibitionBuildArgs),
    /// Print one link for a site to pull its pack with (`caravan pull <link> <dir>`): a
    /// presigned link to an index of presigned links to every file of the site's pack in the
    /// S3 store. The site needs no credentials and can read nothing else; every link stops
    /// working when it expires.
    Share(ExhibitionShareArgs),
}

#[derive(Debug, Args)]
pub struct ExhibitionShareArgs {
    /// The exhibition file (TOML).
    pub file: PathBuf,
    /// The site's id, as in the exhibition file.
    pub site: String,
    /// How long the links work: `7d`, `36h`, `90m` (7 days at most: S3's limit for presigned
    /// links).
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    pub expires: std::time::Duration,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ExhibitionBuildArgs {
    /// The exhibition file (TOML): id, title, assets, [[sites]].
    pub file: PathBuf,
    /// Write the packs into `<out>/<site>/` instead of the store.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not process works that have no receipt for a site's profile; stop, naming them.
    #[arg(long)]
    pub no_process: bool,
    /// With `--store-dir`: profiles file (TOML) of the in-process workers that make the
    /// sites' derivatives (in a cluster, the workers' own).
    #[arg(long, env = "CARAVAN_PROFILES")]
    pub profiles: Option<PathBuf>,
    /// With `--store-dir`: jobs processed at once (default: number of cores).
    #[arg(long, env = "CARAVAN_WORKERS")]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub signing: SigningArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The pack: `https://…/<site>/` (the folder holding its bagit.txt), the link `caravan
    /// exhibition share` printed, `s3://<bucket>/<prefix>` (with this machine's CARAVAN_S3_*
    /// settings), or a local folder.
    pub source: String,
    /// Where the pack goes; pulling again into it fetches only what is missing or changed.
    pub dir: PathBuf,
    /// Files downloaded at once.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    /// Bytes per second over all downloads, e.g. `500K`, `2M`.
    #[arg(long)]
    pub limit_rate: Option<String>,
    /// Retries of a download that makes no progress, with backoff, before giving up.
    #[arg(long, default_value_t = 8)]
    pub retries: u32,
    /// Seconds to wait for a connection or for the next bytes.
    #[arg(long, default_value_t = 30)]
    pub timeout_seconds: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The batch id that `submit` printed.
    pub batch: String,
    /// Ask the broker for each job queue's backlog and consumers (the default with the S3
    /// store, where workers are a cluster).
    #[arg(long, overrides_with = "no_queues")]
    pub queues: bool,
    /// Do not ask the broker.
    #[arg(long)]
    pub no_queues: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub broker: BrokerArgs,
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

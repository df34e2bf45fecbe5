//! The `caravan` binary: parses the command line and hands over to the member crates.

mod cli;
mod connect;
mod embedded;
mod exhibition;
mod pull;
mod trust;

use std::process::ExitCode;

use caravan_proto::{BatchId, ProfileName};
use caravan_scheduler::{status, Summary};
use caravan_store::Store;
use caravan_worker::Worker;
use clap::Parser;
use tokio_util::sync::CancellationToken;

use cli::{Cli, Command, KeysCommand, LogFormat};
use connect::{check_profile, open_queue, open_store, queue_depths, worker_config, Wait};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::ExecJob { request } = &cli.command {
        // The pipeline child: no runtime, no logging set-up; it speaks JSON lines on stdout.
        let code = caravan_worker::isolate::child::exec_job_main(request.as_deref());
        return ExitCode::from(code as u8);
    }
    init_logging(cli.log_format);
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime can be built");
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "Caravan stopped");
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    let cancel = shutdown_token();
    match command {
        Command::Run(args) => {
            let profile = ProfileName::parse(&args.profile.profile)?;
            let mut config = worker_config(args.profile.profiles.as_deref())?;
            if let Some(n) = args.workers {
                config.slots = n.max(1);
            }
            config.signer = trust::signer(&args.signing)?;
            config.metrics_addr = args.metrics_addr;
            check_profile(&config.profiles, &profile)?;
            let options = caravan_scheduler::SubmitOptions {
                profile,
                masters: caravan_scheduler::MasterMode::InPlace,
                wait: true,
                progress: !args.output.json,
                retry_failed: args.retry_failed,
                language: args.catalogue.language,
                uploads: caravan_scheduler::submit::DEFAULT_UPLOADS,
                resume: None,
                resume_unfinished: false,
                stop: Default::default(),
            };
            let summary = embedded::run(&args.source, &args.out, config, options, cancel).await?;
            report(&summary, args.output.json, Some(&args.out));
            Ok(exit_code(&summary))
        }
        Command::Worker(args) => {
            let mut config = worker_config(args.profiles.as_deref())?;
            if let Some(n) = args.slots {
                config.slots = n.max(1);
            }
            config.kinds = args.kinds;
            config.signer = trust::signer(&args.signing)?;
            config.metrics_addr = args.metrics_addr;
            if let Some(dir) = args.scratch_dir {
                config.scratch_dir = dir;
            }
            config.max_attempts = args.max_attempts.max(1);
            config.shutdown_grace = std::time::Duration::from_secs(args.shutdown_grace);
            config.retry_base_delay = std::time::Duration::from_millis(args.retry_base_ms);
            config.failpoint = match std::env::var("CARAVAN_FAILPOINT") {
                Ok(name) => Some(name.parse().map_err(anyhow::Error::msg)?),
                Err(_) => None,
            };
            let store = open_store(&args.store).await?;
            // A worker waits for its broker (started first, restarted, briefly unreachable);
            // a scheduler command reports the problem instead.
            let queue = tokio::select! {
                q = open_queue(&args.broker, &config.name, Wait::UntilReachable) => q?,
                _ = cancel.cancelled() => return Ok(ExitCode::SUCCESS),
            };
            Worker::new(store, queue, config).run(cancel).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Submit(args) => {
            let store = open_store(&args.store).await?;
            let queue = open_queue(&args.broker, "caravan-submit", Wait::No).await?;
            let resume = args.resume.as_deref().map(BatchId::parse).transpose()?;
            let source = match (&args.source, &resume) {
                (Some(source), _) => submission_source(source, &store)?,
                (None, Some(batch)) => resumed_source(&store, batch).await?,
                (None, None) => anyhow::bail!(
                    "name what to submit: a folder or s3://<bucket>/<prefix> (or --resume <batch id>)"
                ),
            };
            let options = caravan_scheduler::SubmitOptions {
                profile: ProfileName::parse(&args.profile)?,
                masters: caravan_scheduler::MasterMode::Upload,
                wait: !args.no_wait,
                progress: !args.output.json,
                retry_failed: args.retry_failed,
                language: args.catalogue.language,
                uploads: args.uploads.max(1),
                resume,
                resume_unfinished: !args.new_batch,
                stop: cancel,
            };
            let summary = caravan_scheduler::submit(&store, &queue, &source, &options).await?;
            report(&summary, args.output.json, None);
            // Without waiting, pending jobs are the expected outcome, not a problem.
            Ok(if args.no_wait {
                ExitCode::SUCCESS
            } else {
                exit_code(&summary)
            })
        }
        Command::Status(args) => {
            let store = open_store(&args.store).await?;
            let batch = BatchId::parse(&args.batch)?;
            let mut summary = status::summarize_stored(&store, &batch).await?;
            let ask_broker = match (args.queues, args.no_queues) {
                (true, _) => true,
                (false, true) => false,
                (false, false) => matches!(store, Store::S3(_)),
            };
            if ask_broker {
                summary.queues = queue_depths(&args.broker).await;
            }
            report(&summary, args.output.json, None);
            Ok(exit_code(&summary))
        }
        Command::Verify(args) => {
            let s3 = match args.path.starts_with("s3://") {
                true => Some(open_store(&args.store).await?),
                false => None,
            };
            trust::verify(&args, s3).await
        }
        Command::Keys(KeysCommand::Generate { dir }) => trust::generate(&dir),
        Command::Exhibition(cli::ExhibitionCommand::Build(args)) => {
            let store = open_store(&args.store).await?;
            exhibition::build(&store, &args, cancel).await
        }
        Command::Exhibition(cli::ExhibitionCommand::Share(args)) => {
            let store = open_store(&args.store).await?;
            exhibition::share(&store, &args).await
        }
        Command::Pull(args) => pull::pull(&args).await,
        Command::ExecJob { .. } => unreachable!("handled before the runtime starts"),
    }
}

/// A folder, or `s3://<bucket>/<prefix>` naming a prefix of the configured bucket.
fn submission_source(arg: &str, store: &Store) -> anyhow::Result<caravan_scheduler::Source> {
    let Some(rest) = arg.strip_prefix("s3://") else {
        return Ok(caravan_scheduler::Source::Folder(arg.into()));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    match store {
        Store::S3(s3) if s3.bucket() == bucket => Ok(caravan_scheduler::Source::StorePrefix(prefix.to_owned())),
        Store::S3(s3) => anyhow::bail!("{arg} is not in the configured bucket {:?}; masters must be in the bucket Caravan stores into", s3.bucket()),
        Store::Local(_) => anyhow::bail!("{arg} needs the S3 store; unset --store-dir"),
    }
}

/// What an interrupted batch was submitted from, as its index says.
async fn resumed_source(
    store: &Store,
    batch: &BatchId,
) -> anyhow::Result<caravan_scheduler::Source> {
    let header = caravan_scheduler::index::header(store, batch).await?;
    Ok(match header.source.rsplit_once(" (prefix ") {
        Some((_, prefix)) if header.source.ends_with(')') => {
            caravan_scheduler::Source::StorePrefix(prefix.trim_end_matches(')').to_owned())
        }
        _ => caravan_scheduler::Source::Folder(header.source.into()),
    })
}

fn report(summary: &Summary, json: bool, out: Option<&std::path::Path>) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(summary).expect("summaries serialize")
        );
        return;
    }
    print!("{summary}");
    if let Some(out) = out {
        let done: Vec<_> = summary.done.iter().chain(&summary.already_done).collect();
        if !done.is_empty() {
            println!("  Outputs in {}:", out.display());
            for item in done.iter().take(50) {
                if let Some(asset) = &item.asset_id {
                    println!(
                        "    {} → derivatives/{asset}/{}/",
                        item.source_name, summary.profile
                    );
                }
            }
            if done.len() > 50 {
                println!(
                    "    … and {} more (see {})",
                    done.len() - 50,
                    summary.index_key
                );
            }
            println!(
                "  Receipts: {}/receipts/<asset>/{}.json; batch index: {}/{}",
                out.display(),
                summary.profile,
                out.display(),
                summary.index_key
            );
        }
    }
}

/// 0 when every file of the batch ended (done, failed or rejected: the summary says which);
/// 3 when some are still pending.
fn exit_code(summary: &Summary) -> ExitCode {
    if summary.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARAVAN_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,lapin=warn,aws=warn,c2pa=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Fires on SIGTERM or SIGINT.
fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM can be handled");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("Shutdown requested");
        fire.cancel();
    });
    token
}

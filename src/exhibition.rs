//! `caravan exhibition build`: the works a site's profile has not been applied to are
//! processed first (in process with a folder store, through the broker with S3), then every
//! site's pack is written, with a summary a person or a script reads. `caravan exhibition
//! share`: one expiring link to a site's pack.

use std::process::ExitCode;

use caravan_exhibition::{Exhibition, Unprocessed};
use caravan_scheduler::{reprocess::reprocess, MasterMode, SubmitOptions, Summary};
use caravan_store::Store;
use tokio_util::sync::CancellationToken;

use crate::cli::{ExhibitionBuildArgs, ExhibitionShareArgs};
use crate::connect::{check_profile, open_queue, worker_config, Wait};
use crate::embedded::InProcess;

pub async fn build(
    store: &Store,
    args: &ExhibitionBuildArgs,
    cancel: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let exhibition = Exhibition::load(&args.file)?;
    let works = caravan_exhibition::works::resolve(store, &exhibition.assets).await?;
    let mut processed = Vec::new();
    if !args.no_process {
        let todo = caravan_exhibition::unprocessed(store, &exhibition, &works).await?;
        if !todo.is_empty() {
            processed = tokio::select! {
                p = process(store, args, &exhibition, &todo, &cancel) => p?,
                _ = cancel.cancelled() => anyhow::bail!("interrupted; build again to finish processing and write the packs"),
            };
        }
    }
    let packs = caravan_exhibition::build(store, &exhibition, &works, args.out.as_deref()).await?;
    if args.output.json {
        let summary = serde_json::json!({
            "exhibition": exhibition.id,
            "processed": processed,
            "packs": packs,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summaries serialize")
        );
        return Ok(ExitCode::SUCCESS);
    }
    for summary in &processed {
        print!("{summary}");
    }
    for pack in &packs {
        println!(
            "{}: {} works, {} files, {:.1} MB (profile {}) → {}",
            pack.site,
            pack.works,
            pack.files,
            pack.bytes as f64 / 1e6,
            pack.profile,
            pack.location
        );
        for left in &pack.left_out {
            println!("  left out {}: {}", left.work, left.reason);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Processes each profile's unprocessed works as one batch and waits for them: by workers in
/// this process (masters read where they were submitted from) with a folder store, by the
/// cluster's workers through the broker (masters from the store) with S3.
async fn process(
    store: &Store,
    args: &ExhibitionBuildArgs,
    exhibition: &Exhibition,
    todo: &[Unprocessed],
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<Summary>> {
    let (workers, queue, masters) = match store {
        Store::Local(_) => {
            let mut config = worker_config(args.profiles.as_deref())?;
            for unprocessed in todo {
                check_profile(&config.profiles, &unprocessed.profile)?;
            }
            if let Some(n) = args.workers {
                config.slots = n.max(1);
            }
            config.signer = crate::trust::signer(&args.signing)?;
            let workers = InProcess::start(store, config, cancel);
            let queue = workers.queue.clone();
            (Some(workers), queue, MasterMode::InPlace)
        }
        Store::S3(_) => {
            let queue = open_queue(&args.broker, "caravan-exhibition", Wait::No).await?;
            (None, queue, MasterMode::Upload)
        }
    };
    let mut summaries = Vec::new();
    let mut result = Ok(());
    for unprocessed in todo {
        tracing::info!(profile = %unprocessed.profile, sites = ?unprocessed.sites, works = unprocessed.works.len(), "Processing the works the sites' profile has not been applied to");
        let options = SubmitOptions {
            profile: unprocessed.profile.clone(),
            masters,
            wait: true,
            progress: !args.output.json,
            retry_failed: false,
            language: None,
            uploads: caravan_scheduler::submit::DEFAULT_UPLOADS,
            resume: None,
            resume_unfinished: false,
            stop: cancel.clone(),
        };
        let assets: Vec<_> = (unprocessed.works.iter())
            .map(|w| w.asset_id.clone())
            .collect();
        let described = format!(
            "exhibition {} (sites {})",
            exhibition.id,
            unprocessed.sites.join(", ")
        );
        match reprocess(store, &queue, &assets, &described, &options).await {
            Ok(summary) => summaries.push(summary),
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    if let Some(workers) = workers {
        workers.stop().await?;
    }
    result.map(|()| summaries)
}

pub async fn share(store: &Store, args: &ExhibitionShareArgs) -> anyhow::Result<ExitCode> {
    let exhibition = Exhibition::load(&args.file)?;
    let Some(site) = exhibition.sites.iter().find(|s| s.id == args.site) else {
        let known: Vec<&str> = exhibition.sites.iter().map(|s| s.id.as_str()).collect();
        anyhow::bail!(
            "{} has no site {:?}; its sites: {}",
            args.file.display(),
            args.site,
            known.join(", ")
        );
    };
    let shared = caravan_exhibition::share::share(store, &exhibition, site, args.expires).await?;
    if args.output.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&shared).expect("summaries serialize")
        );
    } else {
        eprintln!(
            "Site {}: {} files, links valid until {} (caravan pull <link> <dir>):",
            shared.site, shared.files, shared.expires_at
        );
        println!("{}", shared.url);
    }
    Ok(ExitCode::SUCCESS)
}

//! `caravan pull`: a site downloads its pack, with a progress bar (bytes, rate, ETA) for people
//! and a JSON summary and exit codes for kiosk scripts.

use std::process::ExitCode;

use caravan_pull::{Progress, PullOptions, Source};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::PullArgs;

/// Exit code when the pull ended but some files did not match the manifest (README).
const REJECTED: u8 = 3;

pub async fn pull(args: &PullArgs) -> anyhow::Result<ExitCode> {
    let options = PullOptions {
        parallel: args.parallel.max(1),
        limit_rate: args.limit_rate.as_deref().map(parse_rate).transpose()?,
        retries: args.retries,
        timeout: std::time::Duration::from_secs(args.timeout_seconds.max(1)),
    };
    let bar = Bar::new(!args.output.json);
    let source = match args.source.strip_prefix("s3://") {
        Some(rest) => from_bucket(&args.source, rest, options.timeout).await,
        None => match Source::parse(&args.source, options.timeout) {
            Ok(source) => source.resolve().await,
            Err(e) => Err(e),
        },
    };
    let pulled = match source {
        Ok(source) => caravan_pull::pull(&source, &args.dir, &options, &bar).await,
        Err(e) => Err(e),
    };
    bar.0.finish_and_clear();
    let summary = match pulled {
        Ok(summary) => summary,
        Err(e) => {
            tracing::error!(error = %e, "Pull stopped");
            if args.output.json {
                let failed = serde_json::json!({ "complete": false, "error": e.to_string(), "exit_code": e.exit_code() });
                println!("{failed}");
            }
            eprintln!("error: {e}");
            return Ok(ExitCode::from(e.exit_code()));
        }
    };
    if args.output.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summaries serialize")
        );
    } else {
        println!(
            "{}: {} files ({:.1} MB): {} downloaded, {} already there, {} removed; {:.1} MB transferred, {} resumed",
            summary.dir.display(),
            summary.files,
            summary.payload_bytes as f64 / 1e6,
            summary.downloaded,
            summary.already_there,
            summary.removed,
            summary.bytes_transferred as f64 / 1e6,
            summary.retries,
        );
        for rejected in &summary.rejected {
            println!(
                "  DOES NOT MATCH the pack's manifest: {} (kept aside at {})",
                rejected.path,
                rejected.kept_at.display()
            );
        }
    }
    if summary.complete {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: {} files do not match the pack's manifest and were kept aside; tell the exhibition's organisers, then pull again", summary.rejected.len());
        Ok(ExitCode::from(REJECTED))
    }
}

/// `500K`, `2M`, `1.5G` (powers of 1024, as curl reads them) or plain bytes per second.
fn parse_rate(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let scale = match unit
        .to_ascii_uppercase()
        .trim_end_matches("/S")
        .trim_end_matches('B')
    {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        _ => anyhow::bail!("--limit-rate {text:?}: use bytes per second, e.g. 500K or 2M"),
    };
    let value: f64 = number.trim().parse().map_err(|_| {
        anyhow::anyhow!("--limit-rate {text:?}: use bytes per second, e.g. 500K or 2M")
    })?;
    anyhow::ensure!(value > 0.0, "--limit-rate {text:?} must be above zero");
    Ok((value * scale) as u64)
}

struct Bar(ProgressBar);

impl Bar {
    fn new(shown: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            None,
            if shown {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("the template is valid"),
        );
        Self(bar)
    }
}

impl Progress for Bar {
    fn planned(&self, files: usize, bytes: Option<u64>) {
        if let Some(bytes) = bytes {
            self.0.set_length(bytes);
        }
        self.0.set_message(format!("{files} files"));
    }

    fn landed(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

/// A pack under `s3://<bucket>/<prefix>`, read with this machine's S3 settings
/// (`CARAVAN_S3_*`, the bucket taken from the address): a presigned link per object.
async fn from_bucket(
    address: &str,
    rest: &str,
    timeout: std::time::Duration,
) -> Result<Source, caravan_pull::PullError> {
    use caravan_pull::PullError;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = match prefix.trim_end_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    let bad = |reason: String| PullError::BadSource {
        given: address.to_owned(),
        reason,
    };
    let config = caravan_store::S3Config::from_env(|name| match name {
        "CARAVAN_S3_BUCKET" => Some(bucket.to_owned()),
        _ => std::env::var(name).ok(),
    })
    .map_err(|e| {
        bad(format!(
            "S3 is not configured ({e}); set CARAVAN_S3_ENDPOINT, _REGION and the key"
        ))
    })?;
    // The links stay in this process: made to last as long as S3 allows, so a slow pull is
    // never cut short by them.
    let s3 = caravan_store::S3Store::new(&config);
    let presigned = (s3.presigned_below(&prefix, caravan_store::S3Store::LONGEST_PRESIGNED))
        .await
        .map_err(|e| PullError::Unreachable {
            what: address.to_owned(),
            attempts: 1,
            detail: e.to_string(),
        })?;
    let mut links = std::collections::BTreeMap::new();
    for (path, link) in presigned {
        let link = link
            .parse()
            .map_err(|e| bad(format!("presigned link of {path}: {e}")))?;
        links.insert(path, link);
    }
    Source::links(&format!("s3://{bucket}/{prefix}"), links, timeout)
}

#[cfg(test)]
mod tests {
    use crate::pull::parse_rate;

    #[test]
    fn rates_read_as_curl_reads_them() {
        assert_eq!(parse_rate("2M").unwrap(), 2 * 1024 * 1024);
        assert_eq!(parse_rate("500k").unwrap(), 500 * 1024);
        assert_eq!(parse_rate("1.5G").unwrap(), 1_610_612_736);
        assert_eq!(parse_rate("100000").unwrap(), 100_000);
        assert_eq!(parse_rate("3MB/s").unwrap(), 3 * 1024 * 1024);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
    }
}

//! `caravan exhibition build`: every site's pack, and a summary a person or a script reads.

use std::process::ExitCode;

use caravan_exhibition::Exhibition;
use caravan_store::Store;

use crate::cli::ExhibitionBuildArgs;

pub async fn build(store: &Store, args: &ExhibitionBuildArgs) -> anyhow::Result<ExitCode> {
    let exhibition = Exhibition::load(&args.file)?;
    let packs = caravan_exhibition::build(store, &exhibition, args.out.as_deref()).await?;
    if args.output.json {
        let summary = serde_json::json!({ "exhibition": exhibition.id, "packs": packs });
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("summaries serialize")
        );
    } else {
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
    }
    Ok(ExitCode::SUCCESS)
}

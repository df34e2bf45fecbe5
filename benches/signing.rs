//! The cost of signing (`cargo bench --bench signing`): the same batch processed by `caravan
//! run` without a key and with one (content credentials in every public JPEG, WebP and MP4,
//! signed receipts, the transparency log), one warm-up and then five runs each (median,
//! min–max; `CARAVAN_BENCH_RUNS`), wall time and peak RSS from `wait4`. Prints the signing cost
//! per credentialed derivative and the ratio to the unsigned run, then the time `caravan
//! verify` takes on the signed folder. The batch: 12 photographs of 3000×2000 and a 10 s 720p
//! video (`CARAVAN_BENCH_SCALE` scales both).

mod common;

use std::path::Path;
use std::process::Command;

use common::{fresh, ratio, repeat, scale};

const CARAVAN: &str = env!("CARGO_BIN_EXE_caravan");

fn main() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let batch = fresh(work.path(), "batch");
    let (w, h) = (
        ((3000.0 * scale()) as u32).max(64),
        ((2000.0 * scale()) as u32).max(48),
    );
    for i in 0..12 {
        caravan_testkit::ffmpeg::make(
            &[
                "-f",
                "lavfi",
                "-i",
                &format!("testsrc2=s={w}x{h}:r=1,noise=alls={}:allf=t", 5 + i),
                "-frames:v",
                "1",
            ],
            &batch.join(format!("photo-{i:02}.png")),
        );
    }
    let seconds = format!("{:.2}", (10.0 * scale()).max(1.0));
    caravan_testkit::ffmpeg::make(
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s=1280x720:r=25:d={seconds}"),
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency=440:sample_rate=48000:d={seconds}"),
            "-c:v",
            "ffv1",
            "-c:a",
            "pcm_s16le",
        ],
        &batch.join("reel.mkv"),
    );
    println!("batch: 12 PNG photographs of {w}×{h}, a {seconds} s 720p FFV1 reel");
    let keys = work.path().join("keys");
    let made = Command::new(CARAVAN)
        .args(["keys", "generate"])
        .arg(&keys)
        .output()
        .expect("caravan keys generate runs");
    assert!(made.status.success());

    let unsigned_out = work.path().join("unsigned");
    let signed_out = work.path().join("signed");
    let run = |out: &Path, signed: bool| {
        let mut command = Command::new(CARAVAN);
        command
            .args(["run", batch.to_str().unwrap(), "--json", "--out"])
            .arg(out)
            .env("CARAVAN_LOG", "warn");
        if signed {
            command.arg("--signing-dir").arg(&keys);
        }
        command
    };
    let clear = |out: &Path| {
        let _ = std::fs::remove_dir_all(out);
    };
    let unsigned = repeat(&|| vec![run(&unsigned_out, false)], &|| {
        clear(&unsigned_out)
    });
    let signed = repeat(&|| vec![run(&signed_out, true)], &|| clear(&signed_out));
    let credentialed = count_credentialed(&signed_out);
    let verify = repeat(
        &|| {
            let mut command = Command::new(CARAVAN);
            command
                .args(["verify", "--json", "--key"])
                .arg(keys.join("signing.pem"))
                .arg(&signed_out);
            vec![command]
        },
        &|| {},
    );

    println!();
    println!("| `caravan run`, 13 masters | wall s, median (min–max) | peak RSS MiB | signed ÷ unsigned (time) |");
    println!("|---|---|---|---|");
    println!(
        "| without a key | {} | {:.0} | — |",
        unsigned.wall_cell(),
        unsigned.median_rss()
    );
    println!(
        "| signing | {} | {:.0} | {} |",
        signed.wall_cell(),
        signed.median_rss(),
        ratio(signed.median_wall(), unsigned.median_wall())
    );
    let per = (signed.median_wall() - unsigned.median_wall()) / credentialed as f64;
    println!(
        "signing cost: {:.1} ms per credentialed derivative ({credentialed} of them), {} s in all",
        per * 1000.0,
        format_args!("{:.2}", signed.median_wall() - unsigned.median_wall())
    );
    println!(
        "`caravan verify` on the signed folder: {} s, {:.0} MiB",
        verify.wall_cell(),
        verify.median_rss()
    );
}

/// Outputs whose receipts say they carry content credentials.
fn count_credentialed(out: &Path) -> usize {
    caravan_testkit::files::files_below(&out.join("receipts"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let receipt: serde_json::Value =
                serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            receipt["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["content_credentials"] == true)
                .count()
        })
        .sum()
}

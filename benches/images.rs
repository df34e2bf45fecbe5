//! Image pipeline speed against libvips and ImageMagick, in one run on this machine
//! (`cargo bench --bench images`; `scripts/bench-images.sh` installs the references first).
//!
//! Generates a ~100 MP 16-bit uncompressed TIFF, a ~40 MP 8-bit LZW TIFF and a ~100 MP JPEG
//! (q92, photographic noise), then times, each in
//! its own process (wall time and peak RSS from `wait4`), one warm-up and then five runs (median,
//! min–max; `CARAVAN_BENCH_RUNS`), and counts instructions once under callgrind:
//! (a) the access set — 2048 px progressive JPEG and WebP, both with a logo watermark (PNG with
//!     alpha, a quarter of the width, 60 % opacity, bottom right), 256 px thumbnail — made by
//!     `caravan exec-job` (the worker's pipeline child), by one `pyvips` process (the master read
//!     once: `benches/references/vips_access.py`) and by one ImageMagick `convert`;
//! (b) the static IIIF level-0 pyramid (512 px tiles) by `caravan exec-job` against one
//!     `vips dzsave --layout iiif3`.
//!
//! Every tool does the same work: read the master once, write the same files. Prints a table
//! with the ratios of medians (ours ÷ reference: below 1 means we are faster or smaller).
//! `CARAVAN_BENCH_SCALE=0.1` for small inputs; `CARAVAN_BENCH_CALLGRIND=0` to skip counting.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use caravan_proto::{JobKind, Profile};
use common::{exec_job, fresh, instructions, ratio, repeat, scale, Series};

fn main() {
    let scale = scale();
    let side = |mp: f64, aspect: f64| {
        let h = (mp * 1e6 * scale / aspect).sqrt();
        ((h * aspect) as u32, h as u32)
    };
    let mp = |(w, h): (u32, u32)| f64::from(w) * f64::from(h) / 1e6;
    let (big, lzw) = (side(100.0, 1.5), side(40.0, 1.5));
    // The inputs are made by a child process: a child forked from a process that held them
    // would start with their pages, and its peak RSS would include them.
    if let Ok(dir) = std::env::var("CARAVAN_BENCH_GENERATE") {
        make_tiff16(Path::new(&dir), big);
        make_tiff8_lzw(Path::new(&dir), lzw);
        make_jpeg(Path::new(&dir), big);
        make_logo(Path::new(&dir));
        return;
    }
    let work = tempfile::tempdir().expect("a temporary folder");
    let status = Command::new(std::env::current_exe().unwrap())
        .env("CARAVAN_BENCH_GENERATE", work.path())
        .status()
        .unwrap();
    assert!(status.success(), "generating the inputs failed");

    let inputs = [
        (
            format!("{:.0} MP 16-bit TIFF", mp(big)),
            work.path().join(MASTER16),
        ),
        (
            format!("{:.0} MP 8-bit LZW TIFF", mp(lzw)),
            work.path().join(MASTER8_LZW),
        ),
        (
            format!("{:.0} MP JPEG q92", mp(big)),
            work.path().join(MASTER_JPEG),
        ),
    ];
    let vips = tool("vips");
    let pyvips = pyvips();
    let convert = ["/usr/bin/convert", "convert"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("-version")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ImageMagick"))
        })
        .map(PathBuf::from);
    let magick_policy = permissive_magick_policy(work.path());
    let logo = work.path().join(LOGO);

    let mut rows = Vec::new();
    for (label, input) in &inputs {
        // (a) the access set.
        let out = work.path().join("ours-a");
        let clear = || drop(fresh(work.path(), "ours-a"));
        let ours_a = || vec![exec_job(JobKind::Image, input, &out, access_profile(&logo))];
        let ours = measured(ours_a, clear);
        rows.push(Row::new(label, "access set", "caravan", &ours, None));
        let access = image::image_dimensions(out.join("access.jpg")).expect("our access copy");
        let mark = Mark::for_access(access);
        if let Some(python) = &pyvips {
            let out = work.path().join("vips-a");
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/references/vips_access.py");
            let run = || {
                let mut command = Command::new(python);
                command
                    .arg(&script)
                    .arg(input)
                    .arg(&logo)
                    .arg(&out)
                    .args([mark.width, mark.x, mark.y].map(|v| v.to_string()));
                vec![command]
            };
            let reference = measured(run, || drop(fresh(work.path(), "vips-a")));
            rows.push(Row::new(
                label,
                "access set",
                "pyvips, one process",
                &reference,
                Some(&ours),
            ));
        }
        if let Some(convert) = &convert {
            let out = work.path().join("magick-a");
            let run = || {
                let mut command = Command::new(convert);
                command
                    .env("MAGICK_CONFIGURE_PATH", &magick_policy)
                    .arg(input)
                    .args(["-resize", "2048x2048>", "-strip", "-depth", "8", "("])
                    .arg(&logo)
                    .args(["-resize", &format!("{}x", mark.width)])
                    .args([
                        "-channel",
                        "A",
                        "-evaluate",
                        "multiply",
                        "0.6",
                        "+channel",
                        ")",
                    ])
                    .args(["-gravity", "southeast", "-geometry"])
                    .arg(format!("+{}+{}", mark.margin, mark.margin))
                    .args(["-composite", "-gravity", "northwest"])
                    .args(["-interlace", "Plane", "-quality", "85"])
                    .args(["-write"])
                    .arg(out.join("access.jpg"))
                    .args(["-interlace", "None", "-quality", "80", "-write"])
                    .arg(out.join("access.webp"))
                    .args([
                        "-resize",
                        "256x256",
                        "-interlace",
                        "Plane",
                        "-quality",
                        "80",
                    ])
                    .arg(out.join("thumb.jpg"));
                vec![command]
            };
            let reference = measured(run, || drop(fresh(work.path(), "magick-a")));
            rows.push(Row::new(
                label,
                "access set",
                "ImageMagick convert",
                &reference,
                Some(&ours),
            ));
        }

        // (b) the IIIF pyramid.
        let out = work.path().join("ours-b");
        let ours_b = || vec![exec_job(JobKind::Image, input, &out, iiif_profile())];
        let ours = measured(ours_b, || drop(fresh(work.path(), "ours-b")));
        rows.push(Row::new(label, "IIIF level 0", "caravan", &ours, None));
        if let Some(vips) = &vips {
            let out = work.path().join("vips-b");
            let run = || {
                let mut command = Command::new(vips);
                command
                    .arg("dzsave")
                    .arg(input)
                    .arg(out.join("iiif"))
                    .args([
                        "--layout",
                        "iiif3",
                        "--tile-size",
                        "512",
                        "--overlap",
                        "0",
                        "--suffix",
                        ".jpg[Q=80]",
                    ]);
                vec![command]
            };
            let reference = measured(run, || drop(fresh(work.path(), "vips-b")));
            rows.push(Row::new(
                label,
                "IIIF level 0",
                "vips dzsave",
                &reference,
                Some(&ours),
            ));
        }
    }
    print_table(&rows, vips.is_some() && pyvips.is_some(), convert.is_some());
}

/// Timed runs and an instruction count of the work `make` describes.
fn measured(make: impl Fn() -> Vec<Command>, before: impl Fn()) -> Series {
    let mut series = repeat(&make, &before);
    series.instructions = instructions(&make, &before);
    series
}

/// The Python of Caravan's virtualenv (`scripts/python-tools.sh`), if it has pyvips.
fn pyvips() -> Option<PathBuf> {
    let python = caravan_testkit::tools::venv_python();
    Command::new(&python)
        .args(["-c", "import pyvips"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| python)
}

/// The profile for (a): only the access set (no extra sizes, no tiles), watermarked with `logo`.
fn access_profile(logo: &Path) -> Profile {
    let mut p = base_profile();
    let w = &mut p.image.watermark;
    w.enabled = true;
    w.logo = Some(logo.to_owned());
    w.position = "bottom-right".into();
    w.opacity = 0.6;
    w.scale = 0.25;
    w.margin = 0.03;
    p
}

fn base_profile() -> Profile {
    let mut p = Profile::default();
    p.image.access_extra_sizes.clear();
    p.image.iiif.enabled = false;
    p.limits.memory_mib = 16 * 1024;
    p.limits.max_pixels = 1_000_000_000;
    p
}

const LOGO: &str = "logo.png";
const LOGO_SIZE: (u32, u32) = (600, 300);

/// A 600×300 logo: an opaque disc with a soft edge on a transparent ground.
fn make_logo(dir: &Path) {
    let (w, h) = LOGO_SIZE;
    let logo = image::RgbaImage::from_fn(w, h, |x, y| {
        let d =
            (f64::from(x) - f64::from(w) / 2.0).hypot((f64::from(y) - f64::from(h) / 2.0) * 2.0);
        let a = ((f64::from(w) / 2.0 - d) / 20.0).clamp(0.0, 1.0);
        image::Rgba([200, (x % 256) as u8, 40, (a * 255.0) as u8])
    });
    logo.save(dir.join(LOGO)).expect("the logo is written");
}

/// Where our profile puts the logo on an access copy of `(w, h)`, for the reference chains.
struct Mark {
    width: u32,
    x: u32,
    y: u32,
    margin: u32,
}

impl Mark {
    fn for_access((w, h): (u32, u32)) -> Self {
        let width = w / 4;
        let height = width * LOGO_SIZE.1 / LOGO_SIZE.0;
        let margin = (0.03 * f64::from(w.min(h))) as u32;
        Self {
            width,
            x: w - margin - width,
            y: h - margin - height,
            margin,
        }
    }
}

/// The profile for (b): tiles, with the access set made as small as the pipeline allows.
fn iiif_profile() -> Profile {
    let mut p = base_profile();
    p.image.iiif.enabled = true;
    p.image.iiif.tile_size = 512;
    p.image.access_long_edge = 16;
    p.image.thumbnail_long_edge = 16;
    p.image.webp = false;
    p
}

struct Row {
    input: String,
    task: &'static str,
    tool: &'static str,
    measured: Series,
    /// Our figures for the same task, when this row is a reference.
    ours: Option<Series>,
}

impl Row {
    fn new(
        input: &str,
        task: &'static str,
        tool: &'static str,
        measured: &Series,
        ours: Option<&Series>,
    ) -> Self {
        eprintln!(
            "{input} / {task} / {tool}: {} s, {:.0} MiB, {} G instructions",
            measured.wall_cell(),
            measured.median_rss(),
            measured.instructions_cell()
        );
        Self {
            input: input.to_owned(),
            task,
            tool,
            measured: measured.clone(),
            ours: ours.cloned(),
        }
    }
}

fn print_table(rows: &[Row], have_vips: bool, have_magick: bool) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n| input | task | tool | wall s, median (min–max) | peak RSS MiB | instructions (G) | caravan ÷ tool (time) | (RSS) | (instructions) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let m = &row.measured;
        let (time, rss, count) = match &row.ours {
            Some(ours) => (
                ratio(ours.median_wall(), m.median_wall()),
                ratio(ours.median_rss(), m.median_rss()),
                match (ours.instructions, m.instructions) {
                    (Some(a), Some(b)) => ratio(a as f64, b as f64),
                    _ => "—".into(),
                },
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {} | {time} | {rss} | {count} |",
            row.input,
            row.task,
            row.tool,
            m.wall_cell(),
            m.median_rss(),
            m.instructions_cell(),
        );
    }
    let _ = writeln!(
        out,
        "{} timed runs per figure after one warm-up; ratios of medians.",
        common::runs()
    );
    if !have_vips {
        let _ = writeln!(
            out,
            "vips or pyvips is missing: apt-get install libvips-tools; scripts/python-tools.sh"
        );
    }
    if !have_magick {
        let _ = writeln!(
            out,
            "ImageMagick is not installed: apt-get install imagemagick"
        );
    }
}

/// A deterministic, photo-like test card: smooth gradients with fine noise (so encoders and
/// compressors do realistic work), `f` maps 16-bit samples to the stored type.
fn pixels<T>(w: u32, h: u32, f: impl Fn(u32) -> T) -> Vec<T> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h {
        for x in 0..w {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state & 0x3ff) as u32;
            let gx = x * 60_000 / w.max(1);
            let gy = y * 60_000 / h.max(1);
            let wave = ((x / 97 + y / 61) % 32) * 900;
            out.push(f((gx + noise).min(65_535)));
            out.push(f((gy + wave / 2 + noise).min(65_535)));
            out.push(f(((gx + gy) / 2 + wave + noise).min(65_535)));
        }
    }
    out
}

const MASTER16: &str = "master16.tif";
const MASTER8_LZW: &str = "master8-lzw.tif";
const MASTER_JPEG: &str = "master.jpg";

fn make_jpeg(dir: &Path, (w, h): (u32, u32)) -> PathBuf {
    let path = dir.join(MASTER_JPEG);
    let data = pixels(w, h, |v| (v >> 8) as u8);
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    image::codecs::jpeg::JpegEncoder::new_with_quality(file, 92)
        .encode(&data, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    eprintln!("generated {} ({w}×{h}, JPEG q92)", path.display());
    path
}

fn make_tiff16(dir: &Path, (w, h): (u32, u32)) -> PathBuf {
    let path = dir.join(MASTER16);
    let data = pixels(w, h, |v| v as u16);
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    tiff::encoder::TiffEncoder::new(file)
        .unwrap()
        .write_image::<tiff::encoder::colortype::RGB16>(w, h, &data)
        .unwrap();
    eprintln!(
        "generated {} ({w}×{h}, 16-bit, uncompressed)",
        path.display()
    );
    path
}

fn make_tiff8_lzw(dir: &Path, (w, h): (u32, u32)) -> PathBuf {
    let path = dir.join(MASTER8_LZW);
    let data = pixels(w, h, |v| (v >> 8) as u8);
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    tiff::encoder::TiffEncoder::new(file)
        .unwrap()
        .with_compression(tiff::encoder::Compression::Lzw)
        .write_image::<tiff::encoder::colortype::RGB8>(w, h, &data)
        .unwrap();
    eprintln!("generated {} ({w}×{h}, 8-bit, LZW)", path.display());
    path
}

/// Debian's ImageMagick policy caps images at 128 MP and 1 GiB of disk cache, which a heritage
/// master exceeds; this folder's policy lifts the caps for the reference run.
fn permissive_magick_policy(dir: &Path) -> PathBuf {
    let folder = dir.join("magick");
    std::fs::create_dir_all(&folder).unwrap();
    let policy = r#"<policymap>
  <policy domain="resource" name="memory" value="16GiB"/>
  <policy domain="resource" name="map" value="16GiB"/>
  <policy domain="resource" name="width" value="64KP"/>
  <policy domain="resource" name="height" value="64KP"/>
  <policy domain="resource" name="area" value="4GP"/>
  <policy domain="resource" name="disk" value="32GiB"/>
</policymap>
"#;
    std::fs::write(folder.join("policy.xml"), policy).unwrap();
    folder
}

fn tool(name: &str) -> Option<PathBuf> {
    Command::new(name)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from(name))
}

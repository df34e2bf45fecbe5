//! `deploy/`: the container image, the Kubernetes manifests, KEDA's autoscalers and the alert
//! rules, each checked by the tool its ecosystem uses — hadolint, kubernetes-validate (the
//! Kubernetes API's own schemas, strict), KEDA's CRD schemas (@kubernetes-models/keda) and
//! promtool — and each check shown to fail on a broken copy, so a green run means the check ran.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use caravan_testkit::tools::venv_python;

use crate::common::*;

fn deploy(path: &str) -> PathBuf {
    repo().join("deploy").join(path)
}

fn venv_tool(name: &str) -> PathBuf {
    venv_python().parent().unwrap().join(name)
}

fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&Path]) -> Output {
    let program = program.as_ref();
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program:?} (scripts/setup.sh --for-tests): {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `deploy/k8s/*.yaml`, in name order.
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// A copy of `file` with `from` replaced by `to`, in `dir`.
fn broken_copy(dir: &Path, file: &Path, from: &str, to: &str) -> PathBuf {
    let original = std::fs::read_to_string(file).unwrap();
    assert!(
        original.contains(from),
        "{from:?} not in {}",
        file.display()
    );
    let copy = dir.join(file.file_name().unwrap());
    std::fs::write(&copy, original.replacen(from, to, 1)).unwrap();
    copy
}

#[test]
fn containerfile_passes_hadolint() {
    let hadolint = venv_tool("hadolint");
    let file = deploy("container/Containerfile");
    let out = run(&hadolint, &[&file]);
    assert!(out.status.success(), "{}", text(&out));
    // A root runtime stage is what hadolint must catch (DL3002).
    let dir = tempfile::tempdir().unwrap();
    let root = broken_copy(dir.path(), &file, "USER 10001:10001", "USER root");
    let out = run(&hadolint, &[&root]);
    assert!(
        !out.status.success() && text(&out).contains("DL3002"),
        "{}",
        text(&out)
    );
}

/// The packages the Containerfile's runtime stage installs.
fn runtime_packages() -> Vec<String> {
    let file = std::fs::read_to_string(deploy("container/Containerfile")).unwrap();
    let runtime = file.rsplit_once("\nFROM ").unwrap().1;
    let install = runtime.split_once("--no-install-recommends").unwrap().1;
    let list = install.split_once("&&").unwrap().0;
    list.split_whitespace()
        .filter(|w| *w != "\\")
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_runtime_image_installs_every_library_the_binary_links() {
    let packages = runtime_packages();
    assert!(packages.iter().any(|p| p == "libavcodec59"), "{packages:?}");
    // Each is a package of this Debian release (the image's base, bookworm).
    for package in &packages {
        let out = Command::new("apt-cache")
            .args(["show", "--no-all-versions", package])
            .output()
            .unwrap();
        assert!(out.status.success(), "Debian has no package {package}");
    }
    // Every shared library the binary names (ELF NEEDED) comes from one of them or from
    // the slim base image's own essential packages.
    let base = ["libc6", "libgcc-s1", "libstdc++6", "zlib1g"];
    let out = run("readelf", &[Path::new("-d"), &caravan_binary()]);
    assert!(out.status.success(), "{}", text(&out));
    let needed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_owned))
        .collect();
    assert!(
        needed.iter().any(|l| l.starts_with("libavcodec")),
        "{needed:?}"
    );
    let out = run("ldd", &[&caravan_binary()]);
    let resolved = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut owners = Vec::new();
    for library in &needed {
        let path = resolved
            .lines()
            .find_map(|l| {
                let line = l.trim();
                match line.split_once(" => ") {
                    Some((name, rest)) => {
                        (name == library).then(|| rest.split(" (").next().unwrap().to_owned())
                    }
                    // The dynamic loader is listed by its path alone.
                    None => {
                        let path = line.split(" (").next().unwrap();
                        path.ends_with(&format!("/{library}"))
                            .then(|| path.to_owned())
                    }
                }
            })
            .unwrap_or_else(|| panic!("ldd does not resolve {library}: {resolved}"));
        // dpkg knows a file by the path its package installed it at (/lib or /usr/lib).
        let other = match path.strip_prefix("/usr") {
            Some(rest) => rest.to_owned(),
            None => format!("/usr{path}"),
        };
        let owner = [path.as_str(), other.as_str()]
            .iter()
            .find_map(|p| {
                let found = Command::new("dpkg").args(["-S", p]).output().unwrap();
                found
                    .status
                    .success()
                    .then(|| String::from_utf8_lossy(&found.stdout).into_owned())
            })
            .unwrap_or_else(|| panic!("no package ships {path}"));
        let package = owner.split(':').next().unwrap().trim();
        assert!(
            packages.iter().any(|p| p == package) || base.contains(&package),
            "{library} comes from {package}, which the runtime stage does not install"
        );
        owners.push(package.to_owned());
    }
    // And no FFmpeg library is installed that the binary does not link.
    for package in packages
        .iter()
        .filter(|p| p.starts_with("libav") || p.starts_with("libsw"))
    {
        assert!(
            owners.contains(package),
            "{package} is installed but not linked"
        );
    }
}

#[test]
fn manifests_pass_kubernetes_validate_strict() {
    let tool = venv_tool("kubernetes-validate");
    let files = manifests();
    let mut args: Vec<&Path> = vec![Path::new("--strict")];
    args.extend(files.iter().map(PathBuf::as_path));
    let out = run(&tool, &args);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    for resource in [
        "namespace/caravan",
        "configmap/caravan-settings",
        "configmap/caravan-profiles",
        "secret/caravan-amqp",
        "deployment/caravan-worker-image",
        "deployment/caravan-worker-video",
        "poddisruptionbudget/caravan-worker-image",
        "job/caravan-submit-",
    ] {
        assert!(
            report.contains(&format!("passed for resource {resource}")),
            "{resource} was not validated: {report}"
        );
    }
    // Strict: a field the API does not have fails.
    let dir = tempfile::tempdir().unwrap();
    let bad = broken_copy(
        dir.path(),
        &deploy("k8s/worker-image.yaml"),
        "readinessProbe:",
        "readinessProbes:",
    );
    let out = run(&tool, &[Path::new("--strict"), &bad]);
    assert!(!out.status.success(), "{}", text(&out));
}

fn keda_validate(files: &[&Path]) -> Output {
    let script = repo().join("tests/verifiers/keda_validate.mjs");
    let mut args = vec![script.as_path()];
    args.extend_from_slice(files);
    run("node", &args)
}

#[test]
fn scaled_objects_pass_kedas_schema() {
    let file = deploy("k8s/scaledobjects.yaml");
    let out = keda_validate(&[&file]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    for resource in [
        "TriggerAuthentication/caravan-rabbitmq",
        "ScaledObject/caravan-worker-image",
        "ScaledObject/caravan-worker-video",
    ] {
        assert!(
            report.contains(&format!("ok   {}: {resource}", file.display())),
            "{report}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = broken_copy(
        dir.path(),
        &file,
        "minReplicaCount: 0",
        "minReplicaCount: none",
    );
    let out = keda_validate(&[&bad]);
    assert!(!out.status.success(), "{}", text(&out));
}

/// The value of `key: value` on the first line that holds `key:` after `after` in `text`.
fn value_after<'a>(text: &'a str, after: &str, key: &str) -> &'a str {
    let rest = text
        .split_once(after)
        .unwrap_or_else(|| panic!("no {after}"))
        .1;
    let line = rest
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} after {after}"));
    line.split_once(':').unwrap().1.trim().trim_matches('"')
}

#[test]
fn each_worker_deployment_outlasts_its_drain_and_is_scaled_on_its_own_queue() {
    let scaled = std::fs::read_to_string(deploy("k8s/scaledobjects.yaml")).unwrap();
    for kind in ["image", "video"] {
        let manifest = std::fs::read_to_string(deploy(&format!("k8s/worker-{kind}.yaml"))).unwrap();
        let grace: u64 = value_after(&manifest, "name: CARAVAN_SHUTDOWN_GRACE", "value")
            .parse()
            .unwrap();
        let termination: u64 =
            value_after(&manifest, "spec:\n      #", "terminationGracePeriodSeconds")
                .parse()
                .unwrap();
        assert!(
            termination > grace + 60,
            "{kind}: {termination} s ≤ {grace} s + upload"
        );
        assert!(manifest.contains(&format!(r#"args: ["worker", "--kinds", "{kind}"]"#)));
        let scaler = format!("name: caravan-worker-{kind}\n  pollingInterval");
        assert_eq!(
            value_after(&scaled, &scaler, "queueName"),
            format!("caravan.jobs.{kind}")
        );
        // The worker takes the arguments the Deployment gives it.
        let out = caravan()
            .args(["worker", "--kinds", kind, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(
        value_after(
            &scaled,
            "name: caravan-worker-video\n  pollingInterval",
            "minReplicaCount"
        ),
        "0"
    );
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    let rules = deploy("prometheus/caravan-alerts.yaml");
    let tests = deploy("prometheus/caravan-alerts.test.yaml");
    let out = run(
        "promtool",
        &[Path::new("check"), Path::new("rules"), &rules],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run("promtool", &[Path::new("test"), Path::new("rules"), &tests]);
    assert!(out.status.success(), "{}", text(&out));
    // The unit tests can fail: an alert expected for the wrong kind is reported.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&rules, dir.path().join("caravan-alerts.yaml")).unwrap();
    let wrong = broken_copy(
        dir.path(),
        &tests,
        "kind: image\n              queue:",
        "kind: video\n              queue:",
    );
    let out = run("promtool", &[Path::new("test"), Path::new("rules"), &wrong]);
    assert!(!out.status.success(), "{}", text(&out));
}

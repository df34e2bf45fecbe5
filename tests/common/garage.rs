//! The real services the tests talk to: Garage (S3) started by `scripts/garage-dev.sh`, and the
//! RabbitMQ the machine (or CI) runs on 127.0.0.1:5672.

use std::process::Command;
use std::sync::OnceLock;

use super::binary::repo;

/// S3 settings of the Garage the tests use: started by scripts/garage-dev.sh (once).
pub fn garage_env() -> &'static Vec<(String, String)> {
    static ENV: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ENV.get_or_init(|| garage_env_at(&[]))
}

/// Starts (or reuses) the Garage that `vars` (e.g. `CARAVAN_GARAGE_DIR`, `CARAVAN_GARAGE_PORT`)
/// select, and returns its `CARAVAN_S3_*` settings.
pub fn garage_env_at(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    let out = Command::new(repo().join("scripts/garage-dev.sh"))
        .arg("start")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "could not start Garage (cargo install garage --locked): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Fails with what to do if RabbitMQ is not listening on 127.0.0.1:5672.
pub fn require_rabbitmq() {
    if std::net::TcpStream::connect("127.0.0.1:5672").is_err() {
        panic!(
            "RabbitMQ is not running on 127.0.0.1:5672; start it with `rabbitmq-server -detached`"
        );
    }
}

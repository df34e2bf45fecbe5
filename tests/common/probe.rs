//! A worker's HTTP endpoints as Prometheus and Kubernetes see them: `/metrics` fetched with
//! curl and checked by `promtool check metrics`, `/healthz` and `/readyz` answers, and the
//! counters of a scrape summed by label.

use std::collections::BTreeMap;
use std::process::Command;

/// A loopback address no one listens on yet, for a worker's `--metrics-addr`.
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The status code and body of `GET http://<addr><path>` (curl, 2 s at most), or `None` when
/// nothing answers there.
pub fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "2", "-w", "\n%{http_code}"])
        .arg(format!("http://{addr}{path}"))
        .output()
        .expect("curl is installed (scripts/setup.sh --for-tests)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n')?;
    match code.trim().parse::<u16>() {
        Ok(0) | Err(_) => None,
        Ok(code) => Some((code, body.to_owned())),
    }
}

/// The status code of `/readyz`, or `None` when nothing answers.
pub fn readyz(addr: &str) -> Option<u16> {
    get(addr, "/readyz").map(|(code, _)| code)
}

/// `/metrics` from `addr`, checked by `promtool check metrics` (the Prometheus project's own
/// linter for the text exposition format).
pub fn scrape(addr: &str) -> String {
    let (code, body) =
        get(addr, "/metrics").unwrap_or_else(|| panic!("nothing answers on {addr}/metrics"));
    assert_eq!(code, 200, "{body}");
    caravan_testkit::tools::promtool_check_metrics(&body);
    body
}

/// The samples of `name` in a scrape, by their labels (`kind=image,code=…`, sorted).
pub fn samples(text: &str, name: &str) -> BTreeMap<String, f64> {
    let mut found = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, labels) = match series.split_once('{') {
            Some((m, rest)) => (m, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        let mut pairs: Vec<String> = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.replace('"', ""))
            .collect();
        pairs.sort();
        found.insert(pairs.join(","), value.parse::<f64>().unwrap());
    }
    found
}

/// Sums the samples of `name` over several scrapes, by labels.
pub fn summed(scrapes: &[String], name: &str) -> BTreeMap<String, f64> {
    let mut total = BTreeMap::new();
    for text in scrapes {
        for (labels, value) in samples(text, name) {
            *total.entry(labels).or_insert(0.0) += value;
        }
    }
    total
}

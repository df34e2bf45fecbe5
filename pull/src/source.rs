//! Where a pack comes from: a folder (a mounted disk, a synced share), an HTTP(S) address of
//! the folder holding its `bagit.txt`, or the link `caravan exhibition share` gives a site: a
//! share index (JSON) with a presigned link per file of the pack. Each is read from an
//! offset, so a partial file resumes.

use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::PullError;

const CHUNK: usize = 256 * 1024;

/// A pack's address.
#[derive(Debug, Clone)]
pub enum Source {
    Folder(PathBuf),
    Http {
        base: Url,
        client: reqwest::Client,
    },
    /// A share index's links, by path in the bag ([`Source::resolve`] reads the index).
    Share {
        index: Url,
        links: BTreeMap<String, Url>,
        client: reqwest::Client,
    },
}

/// What `caravan exhibition share` stores (`caravan_exhibition::share::ShareIndex`; the
/// fields a pull needs).
#[derive(serde::Deserialize)]
struct ShareIndex {
    caravan_share: u32,
    #[serde(default)]
    expires_at: String,
    files: BTreeMap<String, String>,
}

/// The share index format this pull reads.
const SHARE_FORMAT: u32 = 1;

/// What one attempt at reading a file gave.
pub(crate) enum Opened {
    /// Bytes from the offset asked for.
    FromOffset(Reader),
    /// The server ignored the range: bytes from the start.
    FromStart(Reader),
    /// Nothing after the offset: the file is already whole (HTTP 416).
    Nothing,
}

/// A failure worth another attempt (the network, a timeout, a server error), or not.
pub(crate) enum Failure {
    Retry(String),
    Fatal(PullError),
}

pub(crate) enum Reader {
    Http(reqwest::Response),
    Folder(tokio::fs::File),
}

impl Source {
    /// `http://…`, `https://…` or a folder path. `timeout` bounds connecting and each read.
    pub fn parse(given: &str, timeout: Duration) -> Result<Self, PullError> {
        if given.starts_with("http://") || given.starts_with("https://") {
            let mut base = Url::parse(given).map_err(|e| PullError::BadSource {
                given: given.to_owned(),
                reason: e.to_string(),
            })?;
            // A share index is a file; a pack's address is a folder.
            if !base.path().ends_with('/') && !base.path().ends_with(".json") {
                base.set_path(&format!("{}/", base.path()));
            }
            let client = client(timeout).map_err(|e| PullError::BadSource {
                given: given.to_owned(),
                reason: e.to_string(),
            })?;
            return Ok(Source::Http { base, client });
        }
        if given.contains("://") {
            return Err(PullError::BadSource {
                given: given.to_owned(),
                reason: "only http://, https://, s3:// and folders are read".into(),
            });
        }
        let folder = PathBuf::from(given);
        if !folder.is_dir() {
            return Err(PullError::BadSource {
                given: given.to_owned(),
                reason: "no such folder".into(),
            });
        }
        Ok(Source::Folder(folder))
    }

    /// The address, for messages and the summary (an HTTP query, which may hold a signature,
    /// left out).
    pub fn describe(&self) -> String {
        match self {
            Source::Folder(dir) => dir.display().to_string(),
            Source::Http { base: url, .. } | Source::Share { index: url, .. } => without_query(url),
        }
    }

    /// A pack given as a link per file (by its path in the bag), described as `address`: what
    /// the caller presigned for a pack in a bucket it has credentials for.
    pub fn links(
        address: &str,
        links: BTreeMap<String, Url>,
        timeout: Duration,
    ) -> Result<Self, PullError> {
        let bad = |reason: String| PullError::BadSource {
            given: address.to_owned(),
            reason,
        };
        let index = Url::parse(address).map_err(|e| bad(e.to_string()))?;
        let client = client(timeout).map_err(|e| bad(e.to_string()))?;
        Ok(Source::Share {
            index,
            links,
            client,
        })
    }

    /// Reads the share index an address ending in `.json` names, giving the pack's links;
    /// any other source as it is.
    pub async fn resolve(self) -> Result<Self, PullError> {
        let Source::Http { base, client } = self else {
            return Ok(self);
        };
        if !base.path().ends_with(".json") {
            return Ok(Source::Http { base, client });
        }
        let described = without_query(&base);
        let text = match open_url(&client, &base, "the share index", 0, &described).await {
            Ok(Opened::FromOffset(mut reader) | Opened::FromStart(mut reader)) => {
                let mut bytes = Vec::new();
                loop {
                    match reader.chunk().await {
                        Ok(Some(chunk)) => bytes.extend(chunk),
                        Ok(None) => break,
                        Err(Failure::Retry(detail)) => return Err(unreachable(described, detail)),
                        Err(Failure::Fatal(e)) => return Err(e),
                    }
                }
                bytes
            }
            Ok(Opened::Nothing) => Vec::new(),
            Err(Failure::Retry(detail)) => return Err(unreachable(described, detail)),
            Err(Failure::Fatal(e)) => return Err(e),
        };
        let not_a_share = |reason: String| PullError::BadSource {
            given: described.clone(),
            reason,
        };
        let index: ShareIndex = serde_json::from_slice(&text)
            .map_err(|e| not_a_share(format!("not a share index ({e})")))?;
        if index.caravan_share != SHARE_FORMAT {
            return Err(not_a_share(format!(
                "share index format {} (this caravan reads {SHARE_FORMAT}); update caravan",
                index.caravan_share
            )));
        }
        let mut links = BTreeMap::new();
        for (path, link) in index.files {
            let url = Url::parse(&link)
                .map_err(|e| not_a_share(format!("the link of {path} is not a URL ({e})")))?;
            links.insert(path, url);
        }
        tracing::info!(index = %described, files = links.len(), expires_at = %index.expires_at, "Read the share index");
        Ok(Source::Share {
            index: base,
            links,
            client,
        })
    }

    fn url_of(base: &Url, path: &str) -> Url {
        let mut url = base.clone();
        url.path_segments_mut()
            .expect("http URLs have paths")
            .pop_if_empty()
            .extend(path.split('/'));
        url
    }

    /// Opens `path` (relative to the pack's root) at byte `offset`.
    pub(crate) async fn open(&self, path: &str, offset: u64) -> Result<Opened, Failure> {
        match self {
            Source::Folder(dir) => {
                let file = dir.join(path.split('/').collect::<PathBuf>());
                let mut opened = tokio::fs::File::open(&file).await.map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Failure::Fatal(PullError::NotFound {
                            what: path.to_owned(),
                            source_text: self.describe(),
                        })
                    } else {
                        Failure::Retry(format!("{}: {e}", file.display()))
                    }
                })?;
                opened
                    .seek(SeekFrom::Start(offset))
                    .await
                    .map_err(|e| Failure::Retry(e.to_string()))?;
                Ok(Opened::FromOffset(Reader::Folder(opened)))
            }
            Source::Http { base, client } => {
                let url = Self::url_of(base, path);
                open_url(client, &url, path, offset, &self.describe()).await
            }
            Source::Share { links, client, .. } => match links.get(path) {
                Some(url) => open_url(client, url, path, offset, &self.describe()).await,
                None => Err(Failure::Fatal(PullError::NotFound {
                    what: path.to_owned(),
                    source_text: self.describe(),
                })),
            },
        }
    }
}

/// The HTTP client of a pull: `timeout` bounds connecting and each read.
fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .user_agent(concat!("caravan-pull/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The share index could not be read; the pull is worth running again.
fn unreachable(what: String, detail: String) -> PullError {
    PullError::Unreachable {
        what,
        attempts: 1,
        detail,
    }
}

fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

/// GETs `url` (the file `path` of the pack at `described`) from byte `offset`.
async fn open_url(
    client: &reqwest::Client,
    url: &Url,
    path: &str,
    offset: u64,
    described: &str,
) -> Result<Opened, Failure> {
    let mut request = client.get(url.clone());
    if offset > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure::Retry(e.to_string()))?;
    let shown = || without_query(url);
    match response.status() {
        StatusCode::PARTIAL_CONTENT if offset > 0 => Ok(Opened::FromOffset(Reader::Http(response))),
        StatusCode::OK if offset == 0 => Ok(Opened::FromOffset(Reader::Http(response))),
        StatusCode::OK => Ok(Opened::FromStart(Reader::Http(response))),
        StatusCode::RANGE_NOT_SATISFIABLE => Ok(Opened::Nothing),
        StatusCode::NOT_FOUND => Err(Failure::Fatal(PullError::NotFound {
            what: path.to_owned(),
            source_text: described.to_owned(),
        })),
        status
            if status == StatusCode::FORBIDDEN
                || status == StatusCode::UNAUTHORIZED
                || status == StatusCode::BAD_REQUEST =>
        {
            // The server says why in the body: a presigned link past its expiry.
            let body = response.text().await.unwrap_or_default();
            if says_expired(&body) {
                Err(Failure::Fatal(PullError::Expired { url: shown() }))
            } else {
                Err(Failure::Fatal(PullError::Refused {
                    url: shown(),
                    status: status.as_u16(),
                }))
            }
        }
        status
            if status.is_server_error()
                || status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::REQUEST_TIMEOUT =>
        {
            Err(Failure::Retry(format!("HTTP {status} from {}", shown())))
        }
        status => Err(Failure::Fatal(PullError::Refused {
            url: shown(),
            status: status.as_u16(),
        })),
    }
}

/// Whether an S3 error body is about a presigned link past its expiry: AWS answers 403
/// `AccessDenied` "Request has expired"; Garage (seen on 1.x) 400 `InvalidRequest` "Date is too
/// old".
fn says_expired(body: &str) -> bool {
    ["Request has expired", "Date is too old", "expired"]
        .iter()
        .any(|words| body.contains(words))
}

impl Reader {
    /// The next bytes, `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Vec<u8>>, Failure> {
        match self {
            Reader::Http(response) => match response.chunk().await {
                Ok(Some(bytes)) => Ok(Some(bytes.to_vec())),
                Ok(None) => Ok(None),
                Err(e) => Err(Failure::Retry(e.to_string())),
            },
            Reader::Folder(file) => {
                let mut buffer = vec![0; CHUNK];
                let n = file
                    .read(&mut buffer)
                    .await
                    .map_err(|e| Failure::Retry(e.to_string()))?;
                if n == 0 {
                    return Ok(None);
                }
                buffer.truncate(n);
                Ok(Some(buffer))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::source::says_expired;

    #[test]
    fn expired_links_are_told_from_other_refusals() {
        // The bodies as AWS S3 and Garage send them for a presigned GET past its expiry.
        let aws = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
        let garage = "<Error><Code>InvalidRequest</Code><Message>Bad request: Date is too old</Message></Error>";
        assert!(says_expired(aws) && says_expired(garage));
        let denied = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert!(!says_expired(denied));
    }
}

//! A store in an S3-compatible bucket (Garage, MinIO, Ceph RGW, AWS).
//!
//! Path-style addressing and "checksums only when required" are the defaults, because
//! S3-compatible servers reject the newer default checksum headers of the AWS SDK.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::config::{
    retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion, Credentials, Region,
    RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::error::StoreError;
use crate::hashing::HashingCounter;
use crate::key::key_components;
use crate::object::ObjectSummary;
use crate::secret::Secret;

mod copy;
mod multipart;

/// Where and how to reach the bucket. Built from `CARAVAN_S3_*` variables by
/// [`S3Config::from_env`]; secrets may come from files (`*_FILE`, as Kubernetes mounts them).
#[derive(Debug, Clone)]
pub struct S3Config {
    /// e.g. `http://127.0.0.1:3900`; `None` means AWS's own endpoint for `region`.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    /// `http://host/bucket/key` instead of `http://bucket.host/key`; what most S3-compatible
    /// servers expect.
    pub path_style: bool,
    /// Files larger than this are uploaded in parts of this size; it bounds memory per upload.
    pub part_size: usize,
}

impl S3Config {
    /// Reads `CARAVAN_S3_ENDPOINT`, `_REGION`, `_BUCKET`, `_ACCESS_KEY_ID[_FILE]`,
    /// `_SECRET_ACCESS_KEY[_FILE]`, `_PATH_STYLE` and `_PART_SIZE_MIB` through `var`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, StoreError> {
        let secret = |name: &str| -> Result<Secret, StoreError> {
            if let Some(v) = var(name) {
                return Ok(Secret::new(v.trim()));
            }
            let file_var = format!("{name}_FILE");
            match var(&file_var) {
                Some(path) => std::fs::read_to_string(&path)
                    .map(|v| Secret::new(v.trim()))
                    .map_err(|e| StoreError::Config(format!("cannot read {file_var}={path}: {e}"))),
                None => Err(StoreError::Config(format!("set {name} or {file_var}"))),
            }
        };
        let bucket = var("CARAVAN_S3_BUCKET")
            .ok_or_else(|| StoreError::Config("set CARAVAN_S3_BUCKET to the bucket name".into()))?;
        let part_mib: usize = match var("CARAVAN_S3_PART_SIZE_MIB") {
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (5..=5120).contains(n))
                .ok_or_else(|| {
                    StoreError::Config("CARAVAN_S3_PART_SIZE_MIB must be 5..=5120".into())
                })?,
            None => 16,
        };
        Ok(Self {
            endpoint: var("CARAVAN_S3_ENDPOINT").filter(|s| !s.is_empty()),
            region: var("CARAVAN_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            bucket,
            access_key_id: secret("CARAVAN_S3_ACCESS_KEY_ID")?,
            secret_access_key: secret("CARAVAN_S3_SECRET_ACCESS_KEY")?,
            path_style: var("CARAVAN_S3_PATH_STYLE").is_none_or(|v| v != "false" && v != "0"),
            part_size: part_mib << 20,
        })
    }
}

/// A bucket on an S3-compatible server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    target: String,
    part_size: usize,
    /// Whether the server honours `If-None-Match: *` on PUT (learnt once, by a probe): some
    /// S3-compatible servers ignore the header and overwrite.
    conditional_writes: std::sync::Arc<tokio::sync::OnceCell<bool>>,
}

impl S3Store {
    pub fn new(config: &S3Config) -> Self {
        let credentials = Credentials::new(
            config.access_key_id.expose(),
            config.secret_access_key.expose(),
            None,
            None,
            "caravan",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(config.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(120))
                    .build(),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let target = format!(
            "bucket {} at {}",
            config.bucket,
            config.endpoint.as_deref().unwrap_or("AWS S3")
        );
        Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            target,
            part_size: config.part_size.max(5 << 20),
            conditional_writes: Default::default(),
        }
    }

    pub fn describe(&self) -> String {
        self.target.clone()
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub(crate) async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, u64, std::time::SystemTime)>, StoreError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| self.classify(e, "list_objects_v2", prefix))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    let modified = (object.last_modified())
                        .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    let size = object.size().unwrap_or(0).max(0) as u64;
                    found.push((key.to_owned(), size, modified));
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// The longest a presigned link lasts: SigV4 query signing's limit, which AWS S3 and
    /// Garage both enforce (Garage answers a longer one 400 "X-Amz-Expires may not exceed a
    /// week").
    pub const LONGEST_PRESIGNED: std::time::Duration =
        std::time::Duration::from_secs(7 * 24 * 3600);

    /// A presigned link ([`Self::presigned_get`]) to every object below `prefix`, by its key
    /// with the prefix taken off.
    pub async fn presigned_below(
        &self,
        prefix: &str,
        expires_in: std::time::Duration,
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let mut links = std::collections::BTreeMap::new();
        for (key, _, _) in self.list(prefix).await? {
            let link = self.presigned_get(&key, expires_in).await?;
            let relative = key.strip_prefix(prefix).unwrap_or(&key).to_owned();
            links.insert(relative, link);
        }
        Ok(links)
    }

    /// A link anyone can GET `key` with, without credentials, until `expires_in` has passed:
    /// the request signed into the query string (SigV4), which S3 servers, AWS and Garage
    /// alike, honour for [`Self::LONGEST_PRESIGNED`] at most. Made locally; the store is not
    /// asked.
    pub async fn presigned_get(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<String, StoreError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in)
            .map_err(|e| StoreError::Config(format!("presigned link for {key}: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| StoreError::Config(format!("presigned link for {key}: {e}")))?;
        Ok(request.uri().to_owned())
    }

    /// Creates the bucket if it does not exist yet (for first set-up and tests).
    pub async fn ensure_bucket(&self) -> Result<(), StoreError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(()),
            Err(e) => match self.classify(e, "head_bucket", &self.bucket) {
                StoreError::NotFound { .. } => {}
                other => return Err(other),
            },
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Another worker created it between our check and our request.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.classify(e, "create_bucket", &self.bucket)),
        }
    }

    pub(crate) async fn put_file(
        &self,
        key: &str,
        path: &Path,
        media_type: &str,
        cancel: &CancellationToken,
    ) -> Result<ObjectSummary, StoreError> {
        key_components(key)?;
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| StoreError::io(path, e))?;
        let mut hash = HashingCounter::default();
        let first = read_part(&mut file, self.part_size, path).await?;
        hash.update(&first);
        if first.len() < self.part_size {
            tokio::select! {
                r = self.put_object(key, first, media_type) => r?,
                _ = cancel.cancelled() => return Err(StoreError::Cancelled { key: key.to_owned() }),
            }
            return Ok(hash.finish());
        }

        self.put_multipart(key, first, &mut file, path, media_type, &mut hash, cancel)
            .await?;
        Ok(hash.finish())
    }

    async fn put_object(&self, key: &str, body: Bytes, media_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(media_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.classify(e, "put_object", key))
    }

    pub(crate) async fn put_bytes(
        &self,
        key: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<ObjectSummary, StoreError> {
        key_components(key)?;
        let mut hash = HashingCounter::default();
        hash.update(&bytes);
        self.put_object(key, Bytes::from(bytes), media_type).await?;
        Ok(hash.finish())
    }

    /// Whether this server honours conditional writes (`If-None-Match: *`), found out once by
    /// writing a probe object twice.
    pub async fn honours_conditional_writes(&self) -> Result<bool, StoreError> {
        self.conditional_writes
            .get_or_try_init(|| async {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let probe = format!(".caravan-probe/conditional-write-{nanos}");
                let first = self.put_if_none_match(&probe, b"1".to_vec(), "text/plain").await?;
                let second = self.put_if_none_match(&probe, b"2".to_vec(), "text/plain").await?;
                let _ = self.delete(&probe).await;
                let honoured = first && !second;
                if !honoured {
                    tracing::warn!(store = %self.target, "The S3 server ignores If-None-Match; receipts are written after a HEAD check, and leases keep two workers from committing one asset");
                }
                Ok(honoured)
            })
            .await
            .copied()
    }

    pub(crate) async fn put_bytes_if_absent(
        &self,
        key: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<bool, StoreError> {
        key_components(key)?;
        if self.honours_conditional_writes().await? {
            return self.put_if_none_match(key, bytes, media_type).await;
        }
        // The server would overwrite: look first (a race between the look and the write is left
        // to the lease).
        if self.stat(key).await?.is_some() {
            return Ok(false);
        }
        self.put_bytes(key, bytes, media_type).await.map(|_| true)
    }

    /// [`crate::Store::create_exclusive`]: atomic only where the server honours
    /// `If-None-Match`; `None` (nothing written) where it does not.
    pub(crate) async fn create_exclusive(
        &self,
        key: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<Option<bool>, StoreError> {
        key_components(key)?;
        if !self.honours_conditional_writes().await? {
            return Ok(None);
        }
        self.put_if_none_match(key, bytes, media_type)
            .await
            .map(Some)
    }

    /// PUT with `If-None-Match: *`: `Ok(false)` when the server says the object exists (412).
    async fn put_if_none_match(
        &self,
        key: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<bool, StoreError> {
        let sent = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(media_type)
            .if_none_match("*")
            .body(ByteStream::from(Bytes::from(bytes)))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(false),
            Err(e) => Err(self.classify(e, "put_object (if absent)", key)),
        }
    }

    pub(crate) async fn get_to_file(
        &self,
        key: &str,
        dest: &Path,
    ) -> Result<ObjectSummary, StoreError> {
        key_components(key)?;
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.classify(e, "get_object", key))?;
        let mut body = response.body;
        let mut out = tokio::fs::File::create(dest)
            .await
            .map_err(|e| StoreError::io(dest, e))?;
        let mut hash = HashingCounter::default();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| StoreError::Unavailable {
                target: self.target.clone(),
                operation: "get_object (body)",
                detail: e.to_string(),
            })?;
            hash.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| StoreError::io(dest, e))?;
        }
        out.flush().await.map_err(|e| StoreError::io(dest, e))?;
        Ok(hash.finish())
    }

    pub(crate) async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        key_components(key)?;
        let response = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return match self.classify(e, "get_object", key) {
                    StoreError::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let bytes = response
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable {
                target: self.target.clone(),
                operation: "get_object (body)",
                detail: e.to_string(),
            })?;
        Ok(Some(bytes.to_vec()))
    }

    pub(crate) async fn stat(
        &self,
        key: &str,
    ) -> Result<Option<(u64, std::time::SystemTime)>, StoreError> {
        key_components(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => {
                let modified = head
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok())
                    .unwrap_or(std::time::UNIX_EPOCH);
                Ok(Some((
                    head.content_length().unwrap_or(0).max(0) as u64,
                    modified,
                )))
            }
            Err(e) => match self.classify(e, "head_object", key) {
                StoreError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        key_components(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.classify(e, "delete_object", key))
    }

    /// Maps an SDK error to a classified [`StoreError`] by HTTP status and error kind, never by
    /// matching message text.
    fn classify<E>(
        &self,
        err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
        operation: &'static str,
        key: &str,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let detail = DisplayErrorContext(&err).to_string();
        match (&err, status) {
            (_, Some(404)) => StoreError::NotFound {
                key: key.to_owned(),
            },
            (SdkError::ServiceError(_), Some(s)) if s >= 500 || s == 429 || s == 408 => {
                StoreError::Unavailable {
                    target: self.target.clone(),
                    operation,
                    detail,
                }
            }
            (SdkError::ServiceError(_), _) => StoreError::Refused {
                operation,
                key: key.to_owned(),
                detail: match err.code() {
                    Some(code) => format!("{code}: {}", err.message().unwrap_or("")),
                    None => detail,
                },
            },
            (SdkError::ConstructionFailure(_), _) => StoreError::Config(detail),
            _ => StoreError::Unavailable {
                target: self.target.clone(),
                operation,
                detail,
            },
        }
    }
}

/// Reads up to `size` bytes (less only at the end of the file).
pub(super) async fn read_part(
    file: &mut tokio::fs::File,
    size: usize,
    path: &Path,
) -> Result<Bytes, StoreError> {
    let mut buf = Vec::with_capacity(size);
    let mut limited = file.take(size as u64);
    limited
        .read_to_end(&mut buf)
        .await
        .map_err(|e| StoreError::io(path, e))?;
    Ok(Bytes::from(buf))
}

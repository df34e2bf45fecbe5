//! Large files go up in parts, several at once: one stream to a server rarely fills a fast
//! link. Parts are read (and hashed) in order, and at most [`PARTS_IN_FLIGHT`] are held in
//! memory and sent at a time, so memory stays `PARTS_IN_FLIGHT` × the part size per upload.

use std::path::Path;

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

use super::{read_part, S3Store};
use crate::error::StoreError;
use crate::hashing::HashingCounter;

/// Parts of one upload sent at the same time.
pub const PARTS_IN_FLIGHT: usize = 4;

impl S3Store {
    /// Uploads `file` (whose first part, `first`, is already read and hashed) as a multipart
    /// upload, completing it, or aborting it on any error or on `cancel`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn put_multipart(
        &self,
        key: &str,
        first: Bytes,
        file: &mut tokio::fs::File,
        path: &Path,
        media_type: &str,
        hash: &mut HashingCounter,
        cancel: &CancellationToken,
    ) -> Result<(), StoreError> {
        let upload_id = self.start_multipart(key, media_type).await?;
        let result = tokio::select! {
            r = self.upload_parts(key, &upload_id, first, file, path, hash) => r,
            _ = cancel.cancelled() => Err(StoreError::Cancelled { key: key.to_owned() }),
        };
        self.finish_multipart(key, &upload_id, result).await
    }

    /// Starts a multipart upload of `key`; its upload id.
    pub(super) async fn start_multipart(
        &self,
        key: &str,
        media_type: &str,
    ) -> Result<String, StoreError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(media_type)
            .send()
            .await
            .map_err(|e| self.classify(e, "create_multipart_upload", key))?;
        Ok(upload.upload_id().unwrap_or_default().to_owned())
    }

    /// Completes the upload with `parts`, or aborts it when they (or the completion) failed.
    pub(super) async fn finish_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: Result<Vec<CompletedPart>, StoreError>,
    ) -> Result<(), StoreError> {
        let completed = match parts {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.classify(e, "complete_multipart_upload", key)),
            Err(e) => Err(e),
        };
        if completed.is_err() {
            let abort = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(abort) = abort {
                tracing::warn!(key, error = %DisplayErrorContext(&abort), "Could not abort a failed multipart upload; the bucket's lifecycle rule must clean it up");
            }
        }
        completed
    }

    /// Every part, [`PARTS_IN_FLIGHT`] at a time, in part-number order in the result. A part
    /// in flight when another fails or the upload is cancelled is dropped with its task's
    /// handle (the task finishes on its own; the abort removes what it sent).
    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: Bytes,
        file: &mut tokio::fs::File,
        path: &Path,
        hash: &mut HashingCounter,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let mut parts = Vec::new();
        let mut in_flight = FuturesUnordered::new();
        let mut next = Some(first);
        let mut number = 1;
        loop {
            while in_flight.len() < PARTS_IN_FLIGHT {
                let Some(chunk) = next.take().filter(|c| !c.is_empty()) else {
                    break;
                };
                // A task of its own, so it goes on while the next part is read.
                let (store, key, id) = (self.clone(), key.to_owned(), upload_id.to_owned());
                in_flight.push(tokio::spawn(async move {
                    store.upload_part(&key, &id, number, chunk).await
                }));
                number += 1;
                let chunk = read_part(file, self.part_size, path).await?;
                hash.update(&chunk);
                next = Some(chunk);
            }
            match in_flight.next().await {
                Some(part) => parts.push(part.expect("an upload task does not panic")?),
                None => break,
            }
        }
        parts.sort_by_key(|p: &CompletedPart| p.part_number());
        Ok(parts)
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        chunk: Bytes,
    ) -> Result<CompletedPart, StoreError> {
        let response = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(chunk))
            .send()
            .await
            .map_err(|e| self.classify(e, "upload_part", key))?;
        Ok(CompletedPart::builder()
            .set_e_tag(response.e_tag().map(str::to_owned))
            .part_number(number)
            .build())
    }
}

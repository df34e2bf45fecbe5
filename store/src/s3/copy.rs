//! Server-side copies: an object to another key of the bucket without its bytes leaving the
//! server. `CopyObject` up to 5 GiB (S3's limit for one copy); above, a multipart upload whose
//! parts are `UploadPartCopy` ranges of the source, [`PARTS_IN_FLIGHT`] at a time.

use aws_sdk_s3::types::{CompletedPart, MetadataDirective};
use futures::stream::{self, StreamExt, TryStreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::multipart::PARTS_IN_FLIGHT;
use super::S3Store;
use crate::error::StoreError;
use crate::key::key_components;

/// The largest object one `CopyObject` may copy.
const SINGLE_COPY_LIMIT: u64 = 5 << 30;

/// Each `UploadPartCopy` range above [`SINGLE_COPY_LIMIT`].
const COPY_PART: u64 = 512 << 20;

/// What `x-amz-copy-source` leaves unencoded: RFC 3986's unreserved characters and the `/`
/// between a key's segments.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

impl S3Store {
    /// Copies `from` (of `size` bytes) to `to`, which gets `media_type`.
    pub(crate) async fn copy(
        &self,
        from: &str,
        to: &str,
        size: u64,
        media_type: &str,
    ) -> Result<(), StoreError> {
        key_components(from)?;
        key_components(to)?;
        let source = format!("{}/{}", self.bucket, utf8_percent_encode(from, COPY_SOURCE));
        if size <= SINGLE_COPY_LIMIT {
            return self
                .client
                .copy_object()
                .bucket(&self.bucket)
                .key(to)
                .copy_source(&source)
                .metadata_directive(MetadataDirective::Replace)
                .content_type(media_type)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.classify(e, "copy_object", to));
        }
        self.copy_in_parts(&source, to, size, media_type).await
    }

    async fn copy_in_parts(
        &self,
        source: &str,
        to: &str,
        size: u64,
        media_type: &str,
    ) -> Result<(), StoreError> {
        let upload_id = self.start_multipart(to, media_type).await?;
        let ranges = (0..size.div_ceil(COPY_PART)).map(|n| {
            let start = n * COPY_PART;
            (n as i32 + 1, start, (start + COPY_PART).min(size) - 1)
        });
        let parts: Result<Vec<CompletedPart>, StoreError> = stream::iter(ranges)
            .map(|(number, first, last)| {
                let upload_id = &upload_id;
                async move {
                    let copied = self
                        .client
                        .upload_part_copy()
                        .bucket(&self.bucket)
                        .key(to)
                        .upload_id(upload_id)
                        .part_number(number)
                        .copy_source(source)
                        .copy_source_range(format!("bytes={first}-{last}"))
                        .send()
                        .await
                        .map_err(|e| self.classify(e, "upload_part_copy", to))?;
                    let etag = copied
                        .copy_part_result()
                        .and_then(|r| r.e_tag())
                        .unwrap_or_default();
                    Ok(CompletedPart::builder()
                        .part_number(number)
                        .e_tag(etag)
                        .build())
                }
            })
            .buffered(PARTS_IN_FLIGHT)
            .try_collect()
            .await;
        self.finish_multipart(to, &upload_id, parts).await
    }
}

#[cfg(test)]
mod tests {
    use crate::s3::copy::*;

    #[test]
    fn a_copy_source_keeps_slashes_and_encodes_the_rest() {
        let encoded = utf8_percent_encode("incoming/ฟิล์ม 7/reel+1.mkv", COPY_SOURCE).to_string();
        assert_eq!(
            encoded,
            "incoming/%E0%B8%9F%E0%B8%B4%E0%B8%A5%E0%B9%8C%E0%B8%A1%207/reel%2B1.mkv"
        );
    }
}

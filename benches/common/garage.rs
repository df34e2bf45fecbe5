//! The Garage the benchmarks upload to: started (or reused) by `scripts/garage-dev.sh`, as the
//! tests do, with a bucket of the benchmark's own that is emptied and removed at the end.

use std::path::Path;
use std::process::Command;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;

/// A bucket of one benchmark run on the loopback Garage.
pub struct Garage {
    /// `CARAVAN_S3_*` settings, with the benchmark's bucket.
    pub env: Vec<(String, String)>,
    pub bucket: String,
    client: aws_sdk_s3::Client,
    runtime: tokio::runtime::Runtime,
}

impl Garage {
    /// Starts Garage if it is not running and creates the bucket `name`.
    pub fn start(name: &str) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/garage-dev.sh");
        let out = Command::new(script).arg("start").output().unwrap();
        assert!(
            out.status.success(),
            "could not start Garage (scripts/setup.sh --for-tests installs it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut env: Vec<(String, String)> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let setting = |env: &[(String, String)], key: &str| {
            env.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("garage-dev.sh printed no {key}"))
        };
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(setting(&env, "CARAVAN_S3_ENDPOINT"))
            .region(Region::new(setting(&env, "CARAVAN_S3_REGION")))
            .credentials_provider(Credentials::new(
                setting(&env, "CARAVAN_S3_ACCESS_KEY_ID"),
                setting(&env, "CARAVAN_S3_SECRET_ACCESS_KEY"),
                None,
                None,
                "garage-dev",
            ))
            .force_path_style(true)
            // As the store does: S3-compatible servers reject the SDK's newer default checksums.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let bucket = name.to_owned();
        runtime
            .block_on(client.create_bucket().bucket(&bucket).send())
            .unwrap_or_else(|e| panic!("cannot create bucket {bucket}: {e:?}"));
        for (key, value) in &mut env {
            if key == "CARAVAN_S3_BUCKET" {
                value.clone_from(&bucket);
            }
        }
        Self {
            env,
            bucket,
            client,
            runtime,
        }
    }

    /// The reference "one single-stream upload with the AWS SDK": every file of `files`, one
    /// `PutObject` after another, each body streamed from its file, under `prefix`.
    pub fn put_one_by_one(&self, files: &[std::path::PathBuf], prefix: &str) {
        self.runtime.block_on(async {
            for file in files {
                let key = format!("{prefix}/{}", file.file_name().unwrap().to_string_lossy());
                let body = ByteStream::from_path(file).await.unwrap();
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .body(body)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
            }
        });
    }

    /// `rclone` with this bucket as the remote `garage:` (settings in its environment, no
    /// configuration file).
    pub fn rclone(&self) -> Command {
        let setting = |key: &str| {
            self.env
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let mut rclone = Command::new("rclone");
        rclone
            // A machine-wide AWS_CA_BUNDLE (an HTTPS proxy's) stops rclone 1.60 building its
            // plain-HTTP client for the loopback endpoint.
            .env_remove("AWS_CA_BUNDLE")
            .env("RCLONE_CONFIG", "/dev/null")
            .env("RCLONE_CONFIG_GARAGE_TYPE", "s3")
            .env("RCLONE_CONFIG_GARAGE_PROVIDER", "Other")
            .env(
                "RCLONE_CONFIG_GARAGE_ENDPOINT",
                setting("CARAVAN_S3_ENDPOINT"),
            )
            .env("RCLONE_CONFIG_GARAGE_REGION", setting("CARAVAN_S3_REGION"))
            .env(
                "RCLONE_CONFIG_GARAGE_ACCESS_KEY_ID",
                setting("CARAVAN_S3_ACCESS_KEY_ID"),
            )
            .env(
                "RCLONE_CONFIG_GARAGE_SECRET_ACCESS_KEY",
                setting("CARAVAN_S3_SECRET_ACCESS_KEY"),
            )
            .env("RCLONE_CONFIG_GARAGE_FORCE_PATH_STYLE", "true");
        rclone
    }
}

impl Drop for Garage {
    /// Every object of the bucket, then the bucket.
    fn drop(&mut self) {
        let status = self
            .rclone()
            .args(["purge", &format!("garage:{}", self.bucket)])
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("could not remove bucket {}: {status:?}", self.bucket);
        }
    }
}

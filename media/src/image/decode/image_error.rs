//! How an `image` crate error is classified for the asset's status.

use crate::error::PipelineError;

pub fn classify(format: &str, e: image::ImageError) -> PipelineError {
    match e {
        image::ImageError::Limits(l) => PipelineError::LimitsExceeded(l.to_string()),
        image::ImageError::Unsupported(u) => PipelineError::Unsupported(format!("{format} ({u})")),
        other => PipelineError::Undecodable {
            format: format.to_owned(),
            detail: other.to_string(),
        },
    }
}

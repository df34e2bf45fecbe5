use std::path::PathBuf;

/// Why a pull stopped. Each says what to do next; [`PullError::exit_code`] tells scripts apart.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("{given:?} is not a pack address: {reason}")]
    BadSource { given: String, reason: String },
    #[error("{url}: the link has expired; ask the exhibition's organisers for a new one")]
    Expired { url: String },
    #[error("{url}: the server refused the request (HTTP {status}); the link may be wrong or revoked, ask for a new one")]
    Refused { url: String, status: u16 },
    #[error("{what} is not at {source_text}: is this the address of a pack (the folder holding its bagit.txt)?")]
    NotFound { what: String, source_text: String },
    #[error("cannot reach {what} after {attempts} attempts ({detail}); check the network and run `caravan pull` again: finished files are kept and partial ones resume")]
    Unreachable {
        what: String,
        attempts: u32,
        detail: String,
    },
    #[error("the pack is not a BagIt bag: {0}")]
    NotABag(String),
    #[error("the pack's {file} does not match its tag manifest (changed on the server or in transit); nothing of the payload was trusted, ask the organisers to check the pack")]
    TagMismatch { file: String },
    #[error("{}: {source}", path.display())]
    Local {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PullError {
    /// The process exit code for kiosk scripts (README, "Pulling a pack"): 2 a bad address,
    /// 3 tampered tag files, 4 an expired, refused or wrong link, 5 the network, 1 the local disk.
    pub fn exit_code(&self) -> u8 {
        match self {
            PullError::BadSource { .. } => 2,
            PullError::TagMismatch { .. } | PullError::NotABag(_) => 3,
            PullError::Expired { .. } | PullError::Refused { .. } | PullError::NotFound { .. } => 4,
            PullError::Unreachable { .. } => 5,
            PullError::Local { .. } => 1,
        }
    }

    pub(crate) fn local(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> PullError + '_ {
        move |source| PullError::Local {
            path: path.to_owned(),
            source,
        }
    }
}

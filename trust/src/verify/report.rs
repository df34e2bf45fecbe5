//! What `caravan verify` found: one line per object, a summary, and the same as JSON.

use serde::Serialize;

/// How one object fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// A receipt made without a signing key (before signing was configured): its outputs match
    /// it, but nothing proves who wrote it.
    Unsigned,
    Failed,
}

/// One object and what is wrong with it (nothing, when it is ok).
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub object: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Line {
    pub fn ok(object: impl Into<String>) -> Self {
        Self {
            object: object.into(),
            status: Status::Ok,
            problems: Vec::new(),
        }
    }

    pub fn failed(object: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            object: object.into(),
            status: Status::Failed,
            problems: vec![problem.into()],
        }
    }

    /// `ok` without problems, `failed` with them.
    pub fn from_problems(object: impl Into<String>, problems: Vec<String>) -> Self {
        Self {
            object: object.into(),
            status: if problems.is_empty() {
                Status::Ok
            } else {
                Status::Failed
            },
            problems,
        }
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = match self.status {
            Status::Ok => "ok",
            Status::Unsigned => "unsigned",
            Status::Failed => "FAILED",
        };
        write!(f, "{status:<8} {}", self.object)?;
        if !self.problems.is_empty() {
            write!(f, ": {}", self.problems.join("; "))?;
        }
        Ok(())
    }
}

/// Every line, and notes on how far the result can be trusted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// What was verified (a folder, a bucket, a pack).
    pub root: String,
    pub lines: Vec<Line>,
    /// Which key the signatures were checked against, and where it came from.
    pub notes: Vec<String>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub objects: usize,
    pub ok: usize,
    pub unsigned: usize,
    pub failed: usize,
}

impl Report {
    pub fn push(&mut self, line: Line) {
        self.lines.push(line);
    }

    pub fn finish(&mut self) {
        let count = |status| self.lines.iter().filter(|l| l.status == status).count();
        self.summary = Summary {
            objects: self.lines.len(),
            ok: count(Status::Ok),
            unsigned: count(Status::Unsigned),
            failed: count(Status::Failed),
        };
    }

    /// Whether verification passed: nothing failed, and (with `require_signed`) nothing is
    /// unsigned.
    pub fn passed(&self, require_signed: bool) -> bool {
        self.summary.failed == 0
            && self.summary.objects > 0
            && (!require_signed || self.summary.unsigned == 0)
    }

    /// The closing line.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let mut line = format!(
            "{}: {} objects, {} ok, {} unsigned, {} failed",
            self.root, s.objects, s.ok, s.unsigned, s.failed
        );
        if s.objects == 0 {
            line.push_str(" (nothing to verify here: point at an output folder, a receipt, a derivative or a store prefix)");
        }
        line
    }
}

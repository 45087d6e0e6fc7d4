//! The one error of the loader: which file, where in it, and why.

use std::fmt;
use std::path::{Path, PathBuf};

/// A file under `data/` that cannot be seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    pub file: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    pub reason: String,
}

impl SeedError {
    pub fn new(file: &Path, line: Option<usize>, reason: impl Into<String>) -> Self {
        Self { file: file.to_owned(), line, reason: reason.into() }
    }
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

impl std::error::Error for SeedError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_reads_file_line_reason() {
        let e = SeedError::new(Path::new("data/plans.yml"), Some(7), "price_cents is negative");
        assert_eq!(e.to_string(), "data/plans.yml:7: price_cents is negative");
        let e = SeedError::new(Path::new("data/sims"), None, "no SIM files");
        assert_eq!(e.to_string(), "data/sims: no SIM files");
    }
}

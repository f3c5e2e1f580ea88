//! Sources of blobs: the working tree ([`fs`]) and git history/index ([`git`]);
//! [`lockfile`] finds and parses lockfiles for the dependency audit.
//! Sources enumerate and load; they never match or report.

pub mod fs;
pub mod git;
pub mod lockfile;

use std::path::PathBuf;

/// Errors of one source item; they are recorded and the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The walker failed on a path (permission, loop, vanished file).
    #[error("{path}: {message}")]
    Walk {
        /// Where it failed.
        path: PathBuf,
        /// The walker's message.
        message: String,
    },
}

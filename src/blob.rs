//! Loading blob bytes from the working tree under the size policy: small files
//! into a caller-owned reusable buffer, large ones memory-mapped. Binary
//! detection lives in `scan::is_binary`; this module never matches.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files at least this large are memory-mapped instead of read.
pub const MMAP_THRESHOLD: u64 = 4 << 20;

/// Errors while loading one file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Open, stat or read failed.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Bytes of one loaded file.
pub enum Loaded<'b> {
    /// Read into the caller's buffer.
    Buffer(&'b [u8]),
    /// Memory-mapped.
    Mapped(memmap2::Mmap),
}

impl Loaded<'_> {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Loaded::Buffer(b) => b,
            Loaded::Mapped(m) => m,
        }
    }
}

/// Outcome of the size policy.
pub enum Load<'b> {
    /// The file's bytes.
    Bytes(Loaded<'b>),
    /// Over `max_size`: skipped, with its size.
    TooLarge(u64),
}

/// Load `path` under `max_size`, reusing `buf` for small files.
pub fn load_file<'b>(path: &Path, max_size: u64, buf: &'b mut Vec<u8>) -> Result<Load<'b>, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > max_size {
        return Ok(Load::TooLarge(len));
    }
    if len >= MMAP_THRESHOLD {
        #[allow(unsafe_code)]
        // SAFETY: the map is read-only and dropped before the next file. If another process
        // truncates the file while we scan it, reads past the new end may fault (SIGBUS); we
        // accept that risk, as ripgrep does, for files this large.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        return Ok(Load::Bytes(Loaded::Mapped(map)));
    }
    buf.clear();
    // `take` guards against a file that grew after the stat.
    (&mut file)
        .take(max_size + 1)
        .read_to_end(buf)
        .map_err(io)?;
    if buf.len() as u64 > max_size {
        return Ok(Load::TooLarge(buf.len() as u64));
    }
    Ok(Load::Bytes(Loaded::Buffer(buf)))
}

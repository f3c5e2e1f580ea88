//! `preflight db update`: bring each advisory database (a git repository) up
//! to its remote's HEAD with gix.
//!
//! Every update is a shallow clone (depth 1) into a temporary directory next to
//! the database, which then replaces the old copy by renames. A remote that is
//! unreachable or broken therefore leaves the previous database exactly as it
//! was. When the remote's HEAD is the commit we already have, nothing changes.
//! This is the only module that touches the network, and only when asked.
//! HTTP(S) remotes (the defaults) go through gix's reqwest transport with
//! rustls (cargo feature `https`, on by default); file://, ssh:// and git://
//! remotes work without it.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::Error;

/// Databases fetched when neither `--source` nor `[deps.sources]` names any.
pub const DEFAULT_SOURCES: &[(&str, &str)] = &[
    ("pypa", "https://github.com/pypa/advisory-database.git"),
    ("rustsec", "https://github.com/rustsec/advisory-db.git"),
];

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    /// First clone, at this commit.
    Cloned(String),
    /// Moved from the first commit to the second.
    Advanced(String, String),
    /// Already at the remote's HEAD.
    UpToDate(String),
}

impl Updated {
    /// One line for the terminal.
    pub fn describe(&self) -> String {
        let short = |c: &str| c[..c.len().min(12)].to_string();
        match self {
            Updated::Cloned(c) => format!("cloned at {}", short(c)),
            Updated::Advanced(a, b) => format!("updated {} -> {}", short(a), short(b)),
            Updated::UpToDate(c) => format!("up to date at {}", short(c)),
        }
    }
}

/// Clone or refresh `<root>/<name>` from `url`.
pub fn update(root: &Path, name: &str, url: &str) -> Result<Updated, Error> {
    let err = |message: String| Error::Update {
        name: name.to_string(),
        url: url.to_string(),
        message,
    };
    let lower = url.to_ascii_lowercase();
    if cfg!(not(feature = "https"))
        && (lower.starts_with("https://") || lower.starts_with("http://"))
    {
        return Err(err(
            "this build has no HTTP(S) transport (it was built without the default cargo feature `https`): \
             rebuild with default features, or clone the repository with git and pass it with --db DIR, \
             or fetch from a file://, ssh:// or git:// remote with --source NAME=URL"
                .to_string(),
        ));
    }
    let dest = root.join(name);
    let old = super::db::freshness(&dest).map(|f| f.commit);
    if dest.exists() && old.is_none() {
        return Err(err(format!(
            "{} exists but is not a git checkout; move it away or pass it with --db",
            dest.display()
        )));
    }
    let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let new = match clone_into(url, &tmp) {
        Ok(c) => c,
        Err(m) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(err(m));
        }
    };
    if old.as_deref() == Some(new.as_str()) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Ok(Updated::UpToDate(new));
    }
    swap_in(&tmp, &dest).map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        err(format!("replacing {}: {e}", dest.display()))
    })?;
    Ok(match old {
        Some(o) => Updated::Advanced(o, new),
        None => Updated::Cloned(new),
    })
}

/// Shallow clone with a checked-out worktree; returns HEAD's commit id.
fn clone_into(url: &str, dir: &Path) -> Result<String, String> {
    let interrupt = AtomicBool::new(false);
    let depth = std::num::NonZeroU32::new(1).expect("1 is not zero");
    let mut prepare = gix::prepare_clone(url, dir)
        .map_err(|e| e.to_string())?
        .with_shallow(gix::remote::fetch::Shallow::DepthAtRemote(depth));
    let (mut checkout, _) = prepare
        .fetch_then_checkout(gix::progress::Discard, &interrupt)
        .map_err(|e| error_chain(&e))?;
    let (repo, _) = checkout
        .main_worktree(gix::progress::Discard, &interrupt)
        .map_err(|e| error_chain(&e))?;
    let head = repo.head_id().map_err(|e| error_chain(&e))?;
    Ok(head.to_string())
}

/// `tmp` becomes `dest`; the old `dest` is removed only once the new one is in place.
fn swap_in(tmp: &Path, dest: &Path) -> std::io::Result<()> {
    let backup: Option<PathBuf> = if dest.exists() {
        let b = dest.with_file_name(format!(
            ".{}.old-{}",
            dest.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        std::fs::rename(dest, &b)?;
        Some(b)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(tmp, dest) {
        if let Some(b) = &backup {
            let _ = std::fs::rename(b, dest);
        }
        return Err(e);
    }
    if let Some(b) = backup {
        let _ = std::fs::remove_dir_all(b);
    }
    Ok(())
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

//! `preflight hook install`: writes git hooks that run preflight. A hook we did
//! not write is never overwritten without `--force`.

use std::path::{Path, PathBuf};

/// Marker line identifying hooks written by preflight.
pub const MARKER: &str = "# installed by preflight hook install";

/// Errors installing a hook.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not inside a git repository.
    #[error("{path}: not a git repository (run `preflight hook install` inside one)")]
    NotRepo {
        /// Where we looked.
        path: PathBuf,
    },
    /// A hook exists that preflight did not write.
    #[error(
        "{path} exists and was not written by preflight; use --force to replace it (it is kept as {path}.preflight-backup)"
    )]
    Foreign {
        /// The hook file.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The hook file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// Scans the staged changes before each commit.
    PreCommit,
    /// Scans the commits being pushed.
    PrePush,
}

impl HookKind {
    /// The hook's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            HookKind::PreCommit => "pre-commit",
            HookKind::PrePush => "pre-push",
        }
    }
}

/// The hook script for `kind`, calling `exe`.
pub fn script(kind: HookKind, exe: &str) -> String {
    let exe = exe.replace('\'', "'\\''");
    match kind {
        HookKind::PreCommit => format!(
            "#!/bin/sh\n{MARKER}\n# Blocks a commit whose staged changes hold a secret.\nPREFLIGHT='{exe}'\ncommand -v \"$PREFLIGHT\" >/dev/null 2>&1 || PREFLIGHT=preflight\nexec \"$PREFLIGHT\" scan --staged \"$(git rev-parse --show-toplevel)\"\n"
        ),
        HookKind::PrePush => format!(
            "#!/bin/sh\n{MARKER}\n# Blocks a push whose new commits hold a secret.\nPREFLIGHT='{exe}'\ncommand -v \"$PREFLIGHT\" >/dev/null 2>&1 || PREFLIGHT=preflight\nroot=$(git rev-parse --show-toplevel)\nzero=0000000000000000000000000000000000000000\nstatus=0\nwhile read -r local_ref local_sha remote_ref remote_sha; do\n  [ \"$local_sha\" = \"$zero\" ] && continue\n  if [ \"$remote_sha\" = \"$zero\" ]; then\n    \"$PREFLIGHT\" scan \"$root\" --history-only --branch \"$local_sha\" || status=$?\n  else\n    \"$PREFLIGHT\" scan \"$root\" --range \"$remote_sha..$local_sha\" || status=$?\n  fi\ndone\nexit $status\n"
        ),
    }
}

/// The hooks directory of the repository containing `start`.
pub fn hooks_dir(start: &Path) -> Result<PathBuf, Error> {
    let repo = gix::discover(start).map_err(|_| Error::NotRepo {
        path: start.to_path_buf(),
    })?;
    Ok(repo.common_dir().join("hooks"))
}

/// Install `kind` into `dir`; returns the path written.
pub fn install(dir: &Path, kind: HookKind, exe: &str, force: bool) -> Result<PathBuf, Error> {
    let path = dir.join(kind.file_name());
    let werr = |source| Error::Write {
        path: path.clone(),
        source,
    };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(MARKER) {
            if !force {
                return Err(Error::Foreign { path });
            }
            std::fs::copy(&path, path.with_extension("preflight-backup")).map_err(werr)?;
        }
    }
    std::fs::create_dir_all(dir).map_err(werr)?;
    std::fs::write(&path, script(kind, exe)).map_err(werr)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(werr)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_foreign_hook_without_force() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pre-commit"), "#!/bin/sh\necho mine\n").unwrap();
        assert!(matches!(
            install(d.path(), HookKind::PreCommit, "preflight", false),
            Err(Error::Foreign { .. })
        ));
        let p = install(d.path(), HookKind::PreCommit, "preflight", true).unwrap();
        assert!(std::fs::read_to_string(p).unwrap().contains(MARKER));
        assert!(d.path().join("pre-commit.preflight-backup").exists());
        // Our own hook is replaced without --force.
        install(d.path(), HookKind::PreCommit, "preflight", false).unwrap();
    }
}

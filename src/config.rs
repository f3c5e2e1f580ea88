//! `.preflight.toml`: parsing, validation and the starter file. The CLI merges it
//! into `app::Resolved`, which later stages read; this module does no scanning.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::rules::RuleSpec;

/// Config file name looked up at the scanned root.
pub const CONFIG_FILE: &str = ".preflight.toml";

/// Errors loading `.preflight.toml`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unreadable file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Invalid TOML or an unknown key (toml names the key, line and column).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// toml's message.
        message: String,
    },
    /// A bad glob in `allow.paths`.
    #[error("{path}: allow.paths: invalid glob {glob:?}: {message}")]
    Glob {
        /// The file.
        path: PathBuf,
        /// The glob.
        glob: String,
        /// globset's message.
        message: String,
    },
}

/// `.preflight.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Rule selection.
    #[serde(default)]
    pub rules: RulesConfig,
    /// Allow lists.
    #[serde(default)]
    pub allow: AllowConfig,
    /// Scan settings.
    #[serde(default)]
    pub scan: ScanConfig,
    /// Extra rules written inline, same schema as `patterns/*.toml`.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
    /// Dependency audit settings.
    #[serde(default)]
    pub deps: DepsConfig,
}

/// `[deps]`: the dependency audit (`deps`, `check`, `db`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepsConfig {
    /// Advisory database directories, relative to the config file (`--db` replaces them).
    #[serde(default)]
    pub db: Vec<PathBuf>,
    /// Warn when a database's last commit is older than this many days (default 90).
    pub max_db_age: Option<u64>,
    /// Advisories to ignore (`[[deps.ignore]]`), each with a reason and an optional expiry.
    #[serde(default)]
    pub ignore: Vec<crate::audit::Ignore>,
    /// Repositories `db update` fetches, name → git URL (default: RustSec and PyPA).
    #[serde(default)]
    pub sources: std::collections::BTreeMap<String, String>,
}

/// `[rules]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule ids to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Extra rule files, relative to the config file.
    #[serde(default)]
    pub files: Vec<PathBuf>,
}

/// `[allow]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowConfig {
    /// Gitignore-style globs of paths whose findings are suppressed.
    #[serde(default)]
    pub paths: Vec<String>,
}

/// `[scan]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Largest file or blob scanned, in bytes.
    pub max_file_size: Option<u64>,
}

/// Load `.preflight.toml` from `path` if it exists.
pub fn load_file_config(path: &Path) -> Result<Option<FileConfig>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse_file_config(path, &text).map(Some)
}

/// Parse `.preflight.toml` text.
pub fn parse_file_config(path: &Path, text: &str) -> Result<FileConfig, Error> {
    toml::from_str(text).map_err(|e| Error::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().replace('\n', " "),
    })
}

/// Compile `allow.paths` globs.
pub fn build_allow_paths(path: &Path, globs: &[String]) -> Result<Option<globset::GlobSet>, Error> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        // `dir/` means everything under dir; a bare name matches at any depth.
        let mut pat = g.trim_end_matches('/').to_string();
        if g.ends_with('/') {
            pat.push_str("/**");
        }
        let glob = globset::GlobBuilder::new(&pat)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::Glob {
                path: path.to_path_buf(),
                glob: g.clone(),
                message: e.kind().to_string(),
            })?;
        b.add(glob);
        if !pat.contains('/') {
            b.add(
                globset::Glob::new(&format!("**/{pat}"))
                    .expect("prefixing a valid glob keeps it valid"),
            );
        }
    }
    Ok(Some(b.build().map_err(|e| Error::Glob {
        path: path.to_path_buf(),
        glob: globs.join(", "),
        message: e.to_string(),
    })?))
}

/// A commented starter `.preflight.toml` (written by `preflight init`).
pub const STARTER: &str = r#"# preflight configuration. Every key is optional.
# Docs: README.md, section "Configuration".

[rules]
# Rule ids to turn off (see `preflight rules list`).
disable = []
# Extra rule files (same format as preflight's patterns/*.toml), relative to this file.
files = []

[allow]
# Gitignore-style globs: findings in these paths are suppressed (still listed as suppressed).
paths = []

[scan]
# Largest file or blob to scan, in bytes (default 25 MiB).
# max_file_size = 26214400

[deps]
# Advisory databases for `preflight deps` / `check` (default: those `preflight db update` fetched).
# db = ["../advisory-db"]
# max_db_age = 90
# Advisories that do not apply, each with a reason (and optionally an expiry date):
# [[deps.ignore]]
# id = "RUSTSEC-2020-0071"
# reason = "time 0.1 is only used by a build script that never reads the environment"
# expires = "2027-01-01"

# Rules can also be written inline:
# [[rule]]
# id = "acme.api-key"
# name = "ACME API key"
# severity = "high"
# pattern = '''\b(acme_[a-z0-9]{32})\b'''
# keywords = ["acme_"]
# examples = [{ input = "key = acme_0123456789abcdef0123456789abcdef", secret = "acme_0123456789abcdef0123456789abcdef" }]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_config_parses() {
        let c = parse_file_config(Path::new(".preflight.toml"), STARTER).unwrap();
        assert!(c.rules.disable.is_empty());
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = parse_file_config(Path::new("p.toml"), "[rules]\ndisabel = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("disabel"), "{e}");
    }

    #[test]
    fn allow_globs() {
        let g = build_allow_paths(Path::new("x"), &["testdata/".into(), "*.md".into()])
            .unwrap()
            .unwrap();
        assert!(g.is_match("testdata/a/b.txt"));
        assert!(g.is_match("docs/x.md"));
        assert!(!g.is_match("src/main.rs"));
    }
}

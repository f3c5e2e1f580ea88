//! Suppression: marks (never deletes) findings allowed by an inline comment,
//! `.preflightignore`, a `--baseline` report or `allow.paths`, and reports
//! ignore/baseline entries that matched nothing (stale).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::finding::{Finding, Suppression};

/// Ignore file name at the scanned root.
pub const IGNORE_FILE: &str = ".preflightignore";

/// Inline markers accepted on the line of a match.
pub const INLINE_MARKERS: &[&str] = &[
    "preflight:allow",
    "gitleaks:allow",
    "pragma: allowlist secret",
];

/// Errors loading suppression inputs.
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
    /// A malformed `.preflightignore` line.
    #[error("{path}:{line}: {message}")]
    IgnoreLine {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A baseline that is not a preflight JSON report.
    #[error("{path}: not a preflight JSON report: {message}")]
    Baseline {
        /// The file.
        path: PathBuf,
        /// serde's message.
        message: String,
    },
}

/// Does this line carry an inline allow marker?
pub fn has_inline_allow(line: &[u8]) -> bool {
    INLINE_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(line, m.as_bytes()).is_some())
}

/// Parsed `.preflightignore`: fingerprint → (reason, line).
#[derive(Debug, Default)]
pub struct IgnoreFile {
    /// Entries by fingerprint.
    pub entries: BTreeMap<String, (String, usize)>,
}

/// Parse `.preflightignore`: `<fingerprint> <reason>` per line, `#` comments.
pub fn parse_ignore_file(path: &Path, text: &str) -> Result<IgnoreFile, Error> {
    let mut entries = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (fp, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let reason = reason.trim().trim_start_matches('#').trim();
        let err = |message: String| Error::IgnoreLine {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        };
        if fp.len() < 8 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err(format!(
                "{fp:?} is not a fingerprint (hex, as printed in reports)"
            )));
        }
        if reason.is_empty() {
            return Err(err(format!("fingerprint {fp} needs a reason after it")));
        }
        entries.insert(fp.to_ascii_lowercase(), (reason.to_string(), i + 1));
    }
    Ok(IgnoreFile { entries })
}

/// Load `.preflightignore` if present.
pub fn load_ignore_file(path: &Path) -> Result<Option<IgnoreFile>, Error> {
    match std::fs::read_to_string(path) {
        Ok(t) => parse_ignore_file(path, &t).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Fingerprints of a previous JSON report (finding and location fingerprints).
#[derive(Debug, Default)]
pub struct Baseline {
    /// Every fingerprint in the baseline.
    pub fingerprints: BTreeSet<String>,
    /// Finding-level fingerprints (what stale detection reports).
    pub findings: BTreeSet<String>,
}

/// Load a baseline (a preflight JSON report or `preflight baseline` output).
pub fn load_baseline(path: &Path) -> Result<Baseline, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Baseline {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let findings = v
        .get("findings")
        .and_then(|f| f.as_array())
        .ok_or_else(|| Error::Baseline {
            path: path.to_path_buf(),
            message: "no \"findings\" array".into(),
        })?;
    let mut b = Baseline::default();
    for f in findings {
        if let Some(fp) = f.get("fingerprint").and_then(|x| x.as_str()) {
            b.fingerprints.insert(fp.to_string());
            b.findings.insert(fp.to_string());
        }
        for l in f
            .get("locations")
            .and_then(|l| l.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(fp) = l.get("fingerprint").and_then(|x| x.as_str()) {
                b.fingerprints.insert(fp.to_string());
            }
        }
    }
    Ok(b)
}

/// An ignore or baseline entry that matched no finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StaleEntry {
    /// `.preflightignore` or `baseline`.
    pub source: String,
    /// The fingerprint.
    pub fingerprint: String,
    /// Line in the ignore file, when from there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// Everything that can suppress.
#[derive(Default)]
pub struct Suppressor {
    /// `.preflightignore`.
    pub ignore: Option<IgnoreFile>,
    /// `--baseline`.
    pub baseline: Option<Baseline>,
    /// `allow.paths`.
    pub allow_paths: Option<globset::GlobSet>,
}

impl Suppressor {
    /// Mark suppressed locations and findings; return stale entries.
    pub fn apply(&self, findings: &mut [Finding]) -> Vec<StaleEntry> {
        let mut used: BTreeSet<String> = BTreeSet::new();
        for f in findings.iter_mut() {
            let finding_fp = f.fingerprint.clone();
            for loc in &mut f.locations {
                loc.suppressed = self.location_suppression(
                    &finding_fp,
                    &loc.fingerprint,
                    &loc.path,
                    loc.inline_allow,
                    &mut used,
                );
            }
            if f.locations.iter().all(|l| l.suppressed.is_some()) {
                f.suppressed = f.locations[0].suppressed.clone();
            }
        }
        let mut stale = Vec::new();
        if let Some(ig) = &self.ignore {
            for (fp, (_, line)) in &ig.entries {
                if !used.contains(fp) {
                    stale.push(StaleEntry {
                        source: IGNORE_FILE.into(),
                        fingerprint: fp.clone(),
                        line: Some(*line),
                    });
                }
            }
        }
        if let Some(b) = &self.baseline {
            for fp in &b.findings {
                if !findings.iter().any(|f| &f.fingerprint == fp) {
                    stale.push(StaleEntry {
                        source: "baseline".into(),
                        fingerprint: fp.clone(),
                        line: None,
                    });
                }
            }
        }
        stale.sort();
        stale
    }

    fn location_suppression(
        &self,
        finding_fp: &str,
        loc_fp: &str,
        path: &str,
        inline: bool,
        used: &mut BTreeSet<String>,
    ) -> Option<Suppression> {
        if inline {
            return Some(Suppression::InlineComment);
        }
        if let Some(ig) = &self.ignore {
            for fp in [finding_fp, loc_fp] {
                if let Some((reason, _)) = ig.entries.get(fp) {
                    used.insert(fp.to_string());
                    return Some(Suppression::IgnoreFile {
                        reason: reason.clone(),
                    });
                }
            }
        }
        if let Some(b) = &self.baseline {
            if b.fingerprints.contains(finding_fp) || b.fingerprints.contains(loc_fp) {
                return Some(Suppression::Baseline);
            }
        }
        if let Some(g) = &self.allow_paths {
            if g.is_match(path) {
                return Some(Suppression::ConfigPath);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_file_needs_reasons() {
        let p = Path::new(".preflightignore");
        let ok = parse_ignore_file(p, "# c\n0123456789abcdef0123 rotated on 2026-01-01\n").unwrap();
        assert_eq!(
            ok.entries["0123456789abcdef0123"].0,
            "rotated on 2026-01-01"
        );
        let e = parse_ignore_file(p, "0123456789abcdef0123\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":1:") && e.contains("reason"), "{e}");
        assert!(parse_ignore_file(p, "not-hex reason\n").is_err());
    }

    #[test]
    fn inline_markers() {
        assert!(has_inline_allow(
            b"key = 'x' # preflight:allow test fixture"
        ));
        assert!(has_inline_allow(b"key = 'x' // gitleaks:allow"));
        assert!(has_inline_allow(b"key = 'x' # pragma: allowlist secret"));
        assert!(!has_inline_allow(b"key = 'x'"));
    }
}

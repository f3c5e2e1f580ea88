//! Findings: matches grouped by (rule, secret) into the unit that gets
//! reported, with locations, fingerprints and redacted snippets. Owned strings
//! are built here, never in the scanner.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::scan::location::Position;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Test keys, identifiers.
    Low,
    /// Limited tokens, webhooks.
    Medium,
    /// Most API tokens.
    High,
    /// Cloud root keys, live payment keys, private keys.
    Critical,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// SARIF `security-severity` (0.0–10.0, GitHub's buckets).
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Info => "1.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// A secret in content or a secret-bearing file.
    Secret,
    /// A vulnerable dependency.
    Advisory,
}

/// Where a blob was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Provenance {
    /// A file in the working tree.
    File,
    /// A blob staged in the index.
    Staged,
    /// A blob no ref reaches (`--unreachable`): dangling, dropped by a rewrite or reset.
    Unreachable {
        /// Blob id.
        blob: String,
    },
    /// A blob in a commit of the history.
    Git(GitProvenance),
}

/// History provenance: the commit that introduced the blob at that path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GitProvenance {
    /// Full commit id.
    pub commit: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, RFC 3339 UTC.
    pub date: String,
    /// Commit summary line.
    pub summary: String,
    /// Refs from which the commit is reachable (sorted, at most a few).
    pub refs: Vec<String>,
    /// Whether HEAD's tree still has this blob at this path.
    pub in_head: bool,
    /// The oldest commit in which this blob stopped being at this path (deleted or changed).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub removed_in: Option<String>,
}

/// One place a secret was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the scan root, `/`-separated.
    pub path: String,
    /// Start of the match.
    pub start: Position,
    /// End of the match (exclusive column).
    pub end: Position,
    /// Per-location fingerprint: rule + path + secret hash.
    pub fingerprint: String,
    /// The matched line with the secret redacted (unless `--show-secrets`).
    pub snippet: String,
    /// Where the blob came from.
    pub provenance: Provenance,
    /// Why this location is suppressed, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// An inline allow comment is on the line (set by the scanner worker).
    #[serde(skip)]
    pub inline_allow: bool,
}

/// Why a finding or location is not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Suppression {
    /// `preflight:allow` (or a migrated marker) on the line.
    InlineComment,
    /// `.preflightignore` entry with its reason.
    IgnoreFile {
        /// The reason written next to the fingerprint.
        reason: String,
    },
    /// Present in the `--baseline` report.
    Baseline,
    /// Path allowed in `.preflight.toml`.
    ConfigPath,
    /// Advisory ignored in `.preflight.toml` (`[[deps.ignore]]`) with its reason.
    AdvisoryIgnore {
        /// The reason given with the ignore.
        reason: String,
    },
}

/// The reported unit: one secret (or advisory) with every place it was seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id (or advisory id).
    pub rule_id: String,
    /// Rule name.
    pub rule_name: String,
    /// Secret or advisory.
    pub kind: FindingKind,
    /// Severity.
    pub severity: Severity,
    /// Finding fingerprint: rule + secret hash; stable across edits, moves and rebases.
    pub fingerprint: String,
    /// The secret, redacted (short prefix and length).
    pub secret: String,
    /// The secret in clear text; only with `--show-secrets`, never in SARIF.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret_value: Option<String>,
    /// For env files: the keys holding real-looking values.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub keys: Vec<String>,
    /// Places it was seen, sorted.
    pub locations: Vec<Location>,
    /// Set when every location is suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
    /// Advisory details (only for `kind = advisory`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub advisory: Option<Box<AdvisoryInfo>>,
}

/// What an advisory finding is about: the package, the advisory and the fix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryInfo {
    /// OSV ecosystem (`crates.io`, `PyPI`, `npm`).
    pub ecosystem: String,
    /// Package name as written in the lockfile.
    pub package: String,
    /// Installed (locked) version.
    pub version: String,
    /// Other ids of the same advisory (CVE, GHSA, PYSEC, RUSTSEC), sorted.
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// Versions (or RustSec version requirements) that fix it.
    pub fixed_versions: Vec<String>,
    /// The smallest fixed version above the installed one, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub smallest_fix: Option<String>,
    /// CVSS base score, when the advisory has a vector.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cvss: Option<f64>,
    /// CVSS vector.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cvss_vector: Option<String>,
    /// RustSec informational kind (`unmaintained`, `unsound`, `notice`): a warning.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub informational: Option<String>,
    /// Advisory page.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// Databases that reported it.
    pub databases: Vec<String>,
}

impl Finding {
    /// An informational advisory (unmaintained, unsound crate): reported as a
    /// warning, and it fails a run only with `--deny-warnings`.
    pub fn is_warning(&self) -> bool {
        self.advisory
            .as_ref()
            .is_some_and(|a| a.informational.is_some())
    }

    /// First location (findings always have one).
    pub fn primary(&self) -> &Location {
        &self.locations[0]
    }
    /// Locations grouped by path (sorted), each group ordered working tree, index,
    /// then history by commit date (oldest first), then unreachable.
    pub fn locations_by_path(&self) -> Vec<(&str, Vec<&Location>)> {
        let mut groups: BTreeMap<&str, Vec<&Location>> = BTreeMap::new();
        for l in &self.locations {
            groups.entry(l.path.as_str()).or_default().push(l);
        }
        fn rank(l: &Location) -> (u8, &str) {
            match &l.provenance {
                Provenance::File => (0, ""),
                Provenance::Staged => (1, ""),
                Provenance::Git(g) => (2, g.date.as_str()),
                Provenance::Unreachable { .. } => (3, ""),
            }
        }
        groups
            .into_iter()
            .map(|(p, mut ls)| {
                ls.sort_by(|a, b| rank(a).cmp(&rank(b)));
                (p, ls)
            })
            .collect()
    }

    /// Whether the finding counts toward the exit code.
    pub fn is_active(&self) -> bool {
        self.suppressed.is_none()
    }
}

/// Hex SHA-256 of the secret bytes.
pub fn secret_hash(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Finding fingerprint: `rule_id` + secret hash (no path, line or commit).
pub fn finding_fingerprint(rule_id: &str, secret_hash: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(secret_hash);
    hex(&h.finalize()[..12])
}

/// Location fingerprint: `rule_id` + path + secret hash (no line or commit).
pub fn location_fingerprint(rule_id: &str, path: &str, secret_hash: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(secret_hash);
    hex(&h.finalize()[..12])
}

/// Redacted form of a secret: a short prefix and the length, never enough to use it.
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    let keep = if n >= 24 {
        4
    } else if n >= 12 {
        2
    } else {
        0
    };
    let prefix: String = secret.chars().take(keep).collect();
    format!("{prefix}…[{n} chars]")
}

/// A match turned into owned data by a worker, before grouping.
#[derive(Debug, Clone)]
pub struct RawFinding {
    /// Rule index in the rule set.
    pub rule: u32,
    /// The secret text (lossy UTF-8; whole file content is hashed for file rules).
    pub secret: String,
    /// SHA-256 of the secret bytes.
    pub secret_hash: [u8; 32],
    /// Env keys for env-file findings.
    pub keys: Vec<String>,
    /// The location (fingerprint filled in by [`group`]).
    pub location: Location,
}

/// Group raw findings into sorted findings. `rule_meta(rule)` returns (id, name, severity).
pub fn group<'a>(
    raws: Vec<RawFinding>,
    rule_meta: impl Fn(u32) -> (&'a str, &'a str, Severity),
    show_secrets: bool,
) -> Vec<Finding> {
    let mut by_key: BTreeMap<(String, [u8; 32]), Finding> = BTreeMap::new();
    for raw in raws {
        let (id, name, severity) = rule_meta(raw.rule);
        let mut loc = raw.location;
        loc.fingerprint = location_fingerprint(id, &loc.path, &raw.secret_hash);
        let f = by_key
            .entry((id.to_string(), raw.secret_hash))
            .or_insert_with(|| Finding {
                rule_id: id.to_string(),
                rule_name: name.to_string(),
                kind: FindingKind::Secret,
                severity,
                fingerprint: finding_fingerprint(id, &raw.secret_hash),
                secret: redact(&raw.secret),
                secret_value: show_secrets.then(|| raw.secret.clone()),
                keys: raw.keys.clone(),
                locations: Vec::new(),
                suppressed: None,
                advisory: None,
            });
        if !f.locations.contains(&loc) {
            f.locations.push(loc);
        }
    }
    let mut out: Vec<Finding> = by_key.into_values().collect();
    for f in &mut out {
        f.locations
            .sort_by(|a, b| location_order(a).cmp(&location_order(b)));
    }
    sort_findings(&mut out);
    out
}

fn location_order(l: &Location) -> (u8, &str, Position, &Provenance) {
    let source = match l.provenance {
        Provenance::File => 0,
        Provenance::Staged => 1,
        Provenance::Git(_) => 2,
        Provenance::Unreachable { .. } => 3,
    };
    (source, &l.path, l.start, &l.provenance)
}

/// Deterministic report order: path, line, column, rule id.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let (la, lb) = (a.primary(), b.primary());
        (&la.path, la.start, &a.rule_id, &a.fingerprint).cmp(&(
            &lb.path,
            lb.start,
            &b.rule_id,
            &b.fingerprint,
        ))
    });
}

/// Turn one blob's matches into owned raw findings (worker side: the blob's
/// bytes are still at hand, so line, column, snippet and inline-allow are computed here).
pub fn raw_findings(
    rules: &crate::rules::RuleSet,
    path: &str,
    data: &[u8],
    matches: &[crate::scan::Match],
    provenance: &Provenance,
    show_secrets: bool,
    out: &mut Vec<RawFinding>,
) {
    use crate::scan::location::LineIndex;
    let mut idx = LineIndex::new(data);
    for m in matches {
        let rule = &rules.rules[m.rule as usize];
        if !rule.has_pattern() {
            // A file rule: the file itself is the finding.
            let keys: Vec<String> = if rule.has_filter(crate::rules::Filter::Dotenv) {
                crate::scan::filters::parse_env(data, path)
                    .into_iter()
                    .filter(|e| e.real)
                    .map(|e| e.key)
                    .collect()
            } else {
                Vec::new()
            };
            let one = Position { line: 1, column: 1 };
            out.push(RawFinding {
                rule: m.rule,
                secret: if keys.is_empty() {
                    format!("file {path}")
                } else {
                    keys.join(", ")
                },
                secret_hash: secret_hash(&data[m.secret.clone()]),
                keys,
                location: Location {
                    path: path.to_string(),
                    start: one,
                    end: one,
                    fingerprint: String::new(),
                    snippet: String::new(),
                    provenance: provenance.clone(),
                    suppressed: None,
                    inline_allow: false,
                },
            });
            continue;
        }
        let secret_bytes = &data[m.secret.clone()];
        let secret = String::from_utf8_lossy(secret_bytes).into_owned();
        let start = idx.position(m.secret.start);
        let end = idx.position(m.secret.end);
        let first_line = LineIndex::line_at(data, m.span.start);
        let last_line = LineIndex::line_at(data, m.span.end.saturating_sub(1).max(m.span.start));
        let inline_allow = crate::suppress::has_inline_allow(first_line)
            || crate::suppress::has_inline_allow(last_line);
        out.push(RawFinding {
            rule: m.rule,
            secret_hash: secret_hash(secret_bytes),
            keys: Vec::new(),
            location: Location {
                path: path.to_string(),
                start,
                end,
                fingerprint: String::new(),
                snippet: snippet(data, m.secret.clone(), &secret, show_secrets),
                provenance: provenance.clone(),
                suppressed: None,
                inline_allow,
            },
            secret,
        });
    }
}

/// The line around a secret, with the secret redacted (unless shown), trimmed to a
/// readable width and made safe for a terminal.
fn snippet(data: &[u8], secret: std::ops::Range<usize>, secret_text: &str, show: bool) -> String {
    const BEFORE: usize = 60;
    const AFTER: usize = 40;
    let line_start = memchr::memrchr(b'\n', &data[..secret.start]).map_or(0, |i| i + 1);
    let line_end =
        memchr::memchr(b'\n', &data[secret.start..]).map_or(data.len(), |i| secret.start + i);
    let from = line_start.max(secret.start.saturating_sub(BEFORE));
    let to = if secret.end > line_end {
        secret.end.min(data.len())
    } else {
        line_end.min(secret.end + AFTER)
    };
    let pre = String::from_utf8_lossy(&data[from..secret.start]);
    let post = String::from_utf8_lossy(&data[secret.end.min(to)..to.max(secret.end.min(to))]);
    let shown = if show {
        secret_text.to_string()
    } else {
        redact(secret_text)
    };
    let shown = shown.lines().next().unwrap_or_default().to_string()
        + if shown.contains('\n') { "…" } else { "" };
    let post = post.lines().next().unwrap_or_default();
    format!(
        "{}{}{}{}{}",
        if from > line_start { "…" } else { "" },
        crate::sanitize::for_terminal(pre.trim_start()),
        shown,
        crate::sanitize::for_terminal(post),
        if to < line_end { "…" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_line_and_commit_but_not_path() {
        let h = secret_hash(b"s3cret-value");
        assert_eq!(
            finding_fingerprint("a.b", &h),
            finding_fingerprint("a.b", &h)
        );
        assert_ne!(
            finding_fingerprint("a.b", &h),
            finding_fingerprint("a.c", &h)
        );
        assert_ne!(
            location_fingerprint("a.b", "x", &h),
            location_fingerprint("a.b", "y", &h)
        );
        assert_eq!(finding_fingerprint("a.b", &h).len(), 24);
    }

    #[test]
    fn redaction_hides_most_of_the_secret() {
        assert_eq!(
            redact(&format!("ghp_{}", "0123456789abcdefghijklmnopqrstuvwxyz")),
            "ghp_…[40 chars]"
        );
        assert_eq!(redact("hunter2"), "…[7 chars]");
    }
}

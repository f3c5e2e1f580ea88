//! Reports: a complete, sorted [`Report`] formatted as text, JSON or SARIF.
//! Writers only format; they never scan, filter or reorder findings.

pub mod json;
pub mod sarif;
pub mod text;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::finding::{Finding, FindingKind, Severity};
use crate::rules::{Precision, Rule};
use crate::suppress::StaleEntry;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Grouped by file, for people.
    Text,
    /// Stable JSON, for scripts.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// Rule metadata carried into the report (only rules that fired).
#[derive(Debug, Clone, Serialize)]
pub struct RuleMeta {
    /// Rule id.
    pub id: String,
    /// Name.
    pub name: String,
    /// What it finds.
    pub description: String,
    /// Severity.
    pub severity: Severity,
    /// Precision.
    pub precision: Precision,
    /// Where to rotate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate: Option<String>,
    /// Format documentation.
    pub references: Vec<String>,
    /// Secret rule or advisory (omitted for secret rules, so their JSON is unchanged).
    #[serde(skip_serializing_if = "is_secret")]
    pub kind: FindingKind,
    /// CVSS base score (advisories with a vector): SARIF `security-severity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f64>,
    /// RustSec informational kind (`unmaintained`, `unsound`): a warning rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
}

impl RuleMeta {
    /// From a compiled rule.
    pub fn from_rule(r: &Rule) -> RuleMeta {
        RuleMeta {
            id: r.spec.id.clone(),
            name: r.spec.name.clone(),
            description: r.spec.description.clone(),
            severity: r.spec.severity,
            precision: r.spec.precision,
            rotate: r.spec.rotate.clone(),
            references: r.spec.references.clone(),
            kind: FindingKind::Secret,
            cvss: None,
            informational: None,
        }
    }
}

/// A per-item failure: the item was not (fully) scanned; the run is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ScanError {
    /// Path or object the error is about.
    pub path: String,
    /// One-line message.
    pub message: String,
}

/// Counters for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Working-tree files visited.
    pub files: u64,
    /// Blobs whose content was scanned.
    pub blobs_scanned: u64,
    /// Bytes of content scanned.
    pub bytes_scanned: u64,
    /// Binary blobs (content not scanned).
    pub skipped_binary: u64,
    /// Blobs over the size limit.
    pub skipped_large: u64,
    /// Symbolic links (never followed).
    pub skipped_symlinks: u64,
    /// Commits walked in history.
    pub commits: u64,
    /// Unique blobs in history.
    pub history_blobs: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Dependencies were audited (`deps`, `check`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dep_audit: bool,
    /// Lockfiles found by the dependency audit.
    #[serde(skip_serializing_if = "is_zero")]
    pub lockfiles: u64,
    /// Pinned packages audited.
    #[serde(skip_serializing_if = "is_zero")]
    pub packages: u64,
    /// Advisories loaded for those packages.
    #[serde(skip_serializing_if = "is_zero")]
    pub advisories: u64,
    /// Advisory databases consulted (those with advisories for an ecosystem of
    /// the audited packages).
    #[serde(skip_serializing_if = "is_zero")]
    pub databases: u64,
    /// Advisories (files or records) in those databases.
    #[serde(skip_serializing_if = "is_zero")]
    pub database_advisories: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_secret(k: &FindingKind) -> bool {
    *k == FindingKind::Secret
}

/// Version-control facts for SARIF `versionControlProvenance`.
#[derive(Debug, Clone, Serialize)]
pub struct VcsInfo {
    /// HEAD commit id.
    pub revision: String,
    /// Branch name, if HEAD is on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Remote URL of `origin`, if any (credentials stripped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_uri: Option<String>,
    /// The repository is a shallow clone.
    pub shallow: bool,
}

/// A complete scan result, sorted, ready to format.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Schema version of the JSON report.
    pub version: u32,
    /// preflight's version.
    pub tool_version: String,
    /// Scanned root as given.
    pub root: String,
    /// Absolute root (SARIF base URI).
    #[serde(skip)]
    pub root_abs: std::path::PathBuf,
    /// Findings, sorted by path, line, column, rule.
    pub findings: Vec<Finding>,
    /// Metadata of rules that fired.
    pub rules: BTreeMap<String, RuleMeta>,
    /// Counters.
    pub stats: Stats,
    /// Per-item failures.
    pub errors: Vec<ScanError>,
    /// Notes (skipped large files, shallow clone, ...).
    pub notes: Vec<String>,
    /// Unused ignore/baseline entries.
    pub stale: Vec<StaleEntry>,
    /// Some items could not be scanned.
    pub incomplete: bool,
    /// Repository facts, when a git repository was scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcs: Option<VcsInfo>,
    /// Secrets shown in clear text.
    #[serde(skip)]
    pub show_secrets: bool,
}

impl Report {
    /// Active (unsuppressed) findings.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_active())
    }
}

/// Write `report` in `format` to `out`.
pub fn write_report(
    report: &Report,
    format: Format,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Text => text::write_text(report, color, out),
        Format::Json => json::write_json(report, out),
        Format::Sarif => sarif::write_sarif(report, out),
    }
}

/// Report fixtures for unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Report;
    use crate::finding::{Finding, FindingKind, Location, Provenance, Severity};
    use crate::scan::location::Position;

    /// A report with one secret finding per severity, at paths `p0`, `p1`, ...
    pub fn report_with(sevs: &[Severity], incomplete: bool) -> Report {
        let p = Position { line: 1, column: 1 };
        let findings = sevs
            .iter()
            .enumerate()
            .map(|(i, &severity)| Finding {
                rule_id: "a.b".into(),
                rule_name: "x".into(),
                kind: FindingKind::Secret,
                severity,
                fingerprint: format!("f{i}"),
                secret: "s".into(),
                secret_value: None,
                keys: vec![],
                advisory: None,
                locations: vec![Location {
                    path: format!("p{i}"),
                    start: p,
                    end: p,
                    fingerprint: format!("l{i}"),
                    snippet: String::new(),
                    provenance: Provenance::File,
                    suppressed: None,
                    inline_allow: false,
                }],
                suppressed: None,
            })
            .collect();
        Report {
            version: 1,
            tool_version: "0".into(),
            root: ".".into(),
            root_abs: "/r".into(),
            findings,
            rules: Default::default(),
            stats: Default::default(),
            errors: vec![],
            notes: vec![],
            stale: vec![],
            incomplete,
            vcs: None,
            show_secrets: false,
        }
    }
}

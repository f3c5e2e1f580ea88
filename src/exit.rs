//! Exit-code policy: 0 clean, 1 findings at or above `--fail-on`, 2 usage,
//! fatal or incomplete.

use crate::finding::Severity;
use crate::report::Report;

/// No unsuppressed finding at or above the gate.
pub const CLEAN: u8 = 0;
/// Unsuppressed findings at or above the gate.
pub const FINDINGS: u8 = 1;
/// Usage or config error, fatal error, or an incomplete scan.
pub const ERROR: u8 = 2;

/// Exit code for a finished report. An incomplete scan is not a verdict: 2 wins.
pub fn code_for(report: &Report, fail_on: Severity) -> u8 {
    if report.incomplete {
        ERROR
    } else if report.active().any(|f| f.severity >= fail_on) {
        FINDINGS
    } else {
        CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, FindingKind, Location, Provenance};
    use crate::scan::location::Position;

    fn report(sev: Option<Severity>, incomplete: bool) -> Report {
        let p = Position { line: 1, column: 1 };
        let findings = sev
            .map(|severity| Finding {
                rule_id: "a.b".into(),
                rule_name: "x".into(),
                kind: FindingKind::Secret,
                severity,
                fingerprint: "f".into(),
                secret: "s".into(),
                secret_value: None,
                keys: vec![],
                locations: vec![Location {
                    path: "p".into(),
                    start: p,
                    end: p,
                    fingerprint: "l".into(),
                    snippet: String::new(),
                    provenance: Provenance::File,
                    suppressed: None,
                    inline_allow: false,
                }],
                suppressed: None,
                advisory: None,
            })
            .into_iter()
            .collect();
        Report {
            version: 1,
            tool_version: "0".into(),
            root: ".".into(),
            root_abs: ".".into(),
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

    #[test]
    fn policy() {
        assert_eq!(code_for(&report(None, false), Severity::Info), CLEAN);
        assert_eq!(
            code_for(&report(Some(Severity::Low), false), Severity::Info),
            FINDINGS
        );
        assert_eq!(
            code_for(&report(Some(Severity::Low), false), Severity::High),
            CLEAN
        );
        assert_eq!(
            code_for(&report(Some(Severity::Critical), true), Severity::Info),
            ERROR
        );
    }
}

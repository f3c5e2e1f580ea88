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
/// Warnings (informational advisories) never count against `fail_on`; with
/// `deny_warnings` every one of them fails the run, whatever its severity.
pub fn code_for(report: &Report, fail_on: Severity, deny_warnings: bool) -> u8 {
    if report.incomplete {
        ERROR
    } else if report.active().any(|f| {
        if f.is_warning() {
            deny_warnings
        } else {
            f.severity >= fail_on
        }
    }) {
        FINDINGS
    } else {
        CLEAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sev: Option<Severity>, incomplete: bool) -> Report {
        crate::report::testing::report_with(&sev.into_iter().collect::<Vec<_>>(), incomplete)
    }

    #[test]
    fn policy() {
        assert_eq!(code_for(&report(None, false), Severity::Info, false), CLEAN);
        assert_eq!(
            code_for(&report(Some(Severity::Low), false), Severity::Info, false),
            FINDINGS
        );
        assert_eq!(
            code_for(&report(Some(Severity::Low), false), Severity::High, false),
            CLEAN
        );
        assert_eq!(
            code_for(
                &report(Some(Severity::Critical), true),
                Severity::Info,
                false
            ),
            ERROR
        );
    }

    #[test]
    fn warnings_fail_only_when_denied_whatever_the_gate() {
        let warning = |incomplete| {
            let mut r = crate::report::testing::report_with(&[Severity::Low], incomplete);
            for f in &mut r.findings {
                f.advisory = Some(Box::new(crate::finding::AdvisoryInfo {
                    informational: Some("unmaintained".into()),
                    ..Default::default()
                }));
            }
            r
        };
        assert_eq!(code_for(&warning(false), Severity::Info, false), CLEAN);
        assert_eq!(
            code_for(&warning(false), Severity::Critical, true),
            FINDINGS
        );
        assert_eq!(code_for(&warning(true), Severity::Critical, true), ERROR);
    }
}

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

    fn report(sev: Option<Severity>, incomplete: bool) -> Report {
        crate::report::testing::report_with(&sev.into_iter().collect::<Vec<_>>(), incomplete)
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

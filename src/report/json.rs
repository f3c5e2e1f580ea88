//! JSON report: the [`Report`] serialized as is (documented in the README).

use super::Report;

/// Write pretty JSON with a trailing newline.
pub fn write_json(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

//! JSON report: the [`Report`] serialized as is (documented in the README).

use super::Report;

/// Write pretty JSON with a trailing newline.
pub fn write_json(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    write_pretty(report, out)
}

/// `value` as pretty JSON and a newline. serde_json writes token by token: it
/// is buffered here, where the writer's type is known, rather than make a
/// dynamic call per token.
pub(crate) fn write_pretty<T: serde::Serialize>(
    value: &T,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut w, value)?;
    std::io::Write::write_all(&mut w, b"\n")?;
    std::io::Write::flush(&mut w)
}

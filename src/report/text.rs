//! Human report: findings grouped by file, each with what to do next, then a
//! summary. Colour only when asked (the caller checks for a terminal and NO_COLOR).

use std::collections::BTreeMap;
use std::io::Write;

use super::Report;
use crate::finding::{Finding, Provenance, Severity};
use crate::sanitize::for_terminal;

struct Paint(bool);

impl Paint {
    fn c(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn sev(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.c(code, &format!("{:<8}", s.as_str()))
    }
    /// The severity column: informational advisories say `warning`.
    fn sev_of(&self, f: &Finding) -> String {
        if f.is_warning() {
            return self.c("33", &format!("{:<8}", "warning"));
        }
        self.sev(f.severity)
    }
}

/// Shell-quote for a copy-pasteable command.
fn shq(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The first line of a finding: position, severity, rule id and name. Returns the
/// primary location it describes.
fn write_header<'f>(
    out: &mut dyn Write,
    p: &Paint,
    f: &'f Finding,
) -> std::io::Result<&'f crate::finding::Location> {
    let loc = f.primary();
    writeln!(
        out,
        "  {}:{}  {} {}  {}",
        loc.start.line,
        loc.start.column,
        p.sev_of(f),
        p.c("1", &for_terminal(&f.rule_id)),
        for_terminal(&f.rule_name)
    )?;
    Ok(loc)
}

/// An advisory finding: package, advisory, fix, and how to ignore it.
fn write_advisory(out: &mut dyn Write, p: &Paint, f: &Finding) -> std::io::Result<()> {
    write_header(out, p, f)?;
    let Some(a) = &f.advisory else {
        return Ok(());
    };
    let mut line = format!(
        "      package: {} {} ({})",
        for_terminal(&a.package),
        for_terminal(&a.version),
        a.ecosystem
    );
    if let Some(k) = &a.informational {
        line.push_str(&format!("   {}", for_terminal(k)));
    }
    if let Some(score) = a.cvss {
        line.push_str(&format!("   cvss: {score:.1}"));
    }
    writeln!(out, "{line}")?;
    if !a.aliases.is_empty() {
        writeln!(
            out,
            "      aliases: {}",
            for_terminal(&a.aliases.join(", "))
        )?;
    }
    if let Some(u) = &a.url {
        writeln!(out, "      {}", for_terminal(u))?;
    }
    for l in &f.locations[1..] {
        writeln!(
            out,
            "      also: {}:{}",
            for_terminal(&l.path),
            l.start.line
        )?;
    }
    if let Some(s) = &f.suppressed {
        writeln!(
            out,
            "      suppressed ({})",
            for_terminal(&serde_json::to_string(s).unwrap_or_default())
        )?;
        return Ok(());
    }
    let fix = match (&a.smallest_fix, a.fixed_versions.is_empty()) {
        (Some(v), _) => format!(
            "upgrade {} to {} or later (fixed: {})",
            for_terminal(&a.package),
            for_terminal(v),
            for_terminal(&a.fixed_versions.join(", "))
        ),
        (None, false) => format!(
            "no fixed version above {} is known (fixed: {}): remove or replace {}",
            for_terminal(&a.version),
            for_terminal(&a.fixed_versions.join(", ")),
            for_terminal(&a.package)
        ),
        (None, true) if a.informational.is_some() => {
            "no fixed version: consider a maintained alternative".to_string()
        }
        (None, true) => "no fixed version is known: remove or replace the package".to_string(),
    };
    writeln!(out, "      {} {fix}", p.c("1", "fix:"))?;
    writeln!(
        out,
        "      or, if it does not apply: add {{ id = \"{}\", reason = \"…\" }} to [[deps.ignore]] in .preflight.toml",
        for_terminal(&f.rule_id)
    )
}

fn write_finding(
    out: &mut dyn Write,
    p: &Paint,
    f: &Finding,
    report: &Report,
) -> std::io::Result<()> {
    if f.kind == crate::finding::FindingKind::Advisory {
        return write_advisory(out, p, f);
    }
    let loc = write_header(out, p, f)?;
    let shown = f
        .secret_value
        .as_deref()
        .map(for_terminal)
        .unwrap_or_else(|| f.secret.clone());
    if f.keys.is_empty() {
        writeln!(
            out,
            "      secret: {shown}   fingerprint: {}",
            f.fingerprint
        )?;
    } else {
        writeln!(
            out,
            "      keys: {}   fingerprint: {}",
            for_terminal(&f.keys.join(", ")),
            f.fingerprint
        )?;
    }
    if !loc.snippet.is_empty() {
        writeln!(out, "      {} {}", p.c("2", "│"), loc.snippet)?;
    }
    // One line per path: where it is now (working tree, index) and, from history,
    // the commit that first introduced the secret there (later versions of the same
    // file are counted, not listed; JSON has them all).
    for (path, locs) in f.locations_by_path() {
        let path_s = for_terminal(path);
        for l in &locs {
            match &l.provenance {
                Provenance::File if !std::ptr::eq(*l, loc) => {
                    writeln!(out, "      also: {path_s}:{}", l.start.line)?
                }
                Provenance::Staged if !std::ptr::eq(*l, loc) => {
                    writeln!(out, "      also staged: {path_s}:{}", l.start.line)?
                }
                Provenance::Unreachable { blob } => writeln!(
                    out,
                    "      in unreachable blob {blob} (no ref reaches it; `git gc --prune=now` removes it locally, but a pushed copy may remain on the server)"
                )?,
                _ => {}
            }
        }
        let history: Vec<&&crate::finding::Location> = locs
            .iter()
            .filter(|l| matches!(l.provenance, Provenance::Git(_)))
            .collect();
        if let Some(first) = history.first() {
            let Provenance::Git(g) = &first.provenance else {
                unreachable!("filtered to git provenance")
            };
            let mut refs: Vec<&str> = g.refs.iter().map(String::as_str).take(3).collect();
            if g.refs.len() > 3 {
                refs.push("…");
            }
            let in_head = history
                .iter()
                .any(|l| matches!(&l.provenance, Provenance::Git(g) if g.in_head));
            writeln!(
                out,
                "      introduced {path_s}:{} in commit {} by {} <{}> on {} \"{}\"{}{}",
                first.start.line,
                &g.commit[..g.commit.len().min(12)],
                for_terminal(&g.author),
                for_terminal(&g.email),
                g.date.get(..10).unwrap_or(&g.date),
                for_terminal(&g.summary),
                if refs.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", for_terminal(&refs.join(", ")))
                },
                if history.len() > 1 {
                    format!(" (+{} later version(s) of the file)", history.len() - 1)
                } else {
                    String::new()
                },
            )?;
            let last_removal = history.iter().rev().find_map(|l| match &l.provenance {
                Provenance::Git(g) => g.removed_in.as_deref(),
                _ => None,
            });
            match (in_head, last_removal) {
                (true, _) => writeln!(out, "        still in HEAD")?,
                (false, Some(rm)) => writeln!(
                    out,
                    "        not in HEAD: removed in commit {}, but still in history",
                    &rm[..rm.len().min(12)]
                )?,
                (false, None) => writeln!(out, "        not in HEAD: history only")?,
            }
        }
        if let Some(s) = locs.iter().find_map(|l| l.suppressed.as_ref()) {
            writeln!(
                out,
                "      suppressed ({})",
                for_terminal(&serde_json::to_string(s).unwrap_or_default())
            )?;
        }
    }
    if f.is_active() {
        let meta = report.rules.get(&f.rule_id);
        let rotate = meta.and_then(|m| m.rotate.as_deref());
        match rotate {
            Some(r) => writeln!(
                out,
                "      {} rotate the credential at {}",
                p.c("1", "fix:"),
                for_terminal(r)
            )?,
            None => writeln!(
                out,
                "      {} treat the value as exposed: change it where it is issued",
                p.c("1", "fix:")
            )?,
        }
        let in_history = f
            .locations
            .iter()
            .any(|l| matches!(l.provenance, Provenance::Git(_)));
        let purge = if f.keys.is_empty() && f.secret_value.is_some() {
            format!(
                "printf '%s==>REMOVED\\n' {} > /tmp/expr && git filter-repo --replace-text /tmp/expr",
                shq(f.secret_value.as_deref().unwrap_or(""))
            )
        } else {
            format!(
                "git filter-repo --invert-paths --path {}   (or --replace-text with the value)",
                shq(&loc.path)
            )
        };
        writeln!(
            out,
            "      then remove it from the file{}; if the repository is not public yet: {}",
            if in_history { " and history" } else { "" },
            // Paths come from the scanned repository: never raw control bytes on a terminal.
            for_terminal(&purge)
        )?;
        writeln!(
            out,
            "      or, if it is not a secret: add `preflight:allow` to the line, or `{} <reason>` to .preflightignore",
            f.fingerprint
        )?;
    }
    Ok(())
}

/// Write the human report.
pub fn write_text(report: &Report, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let p = Paint(color);
    let mut by_path: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    // Suppressed findings are counted in the summary, not listed: they were already
    // reviewed (JSON and SARIF keep them, marked).
    for f in report.active() {
        by_path.entry(&f.primary().path).or_default().push(f);
    }
    for (path, findings) in &by_path {
        writeln!(out, "{}", p.c("1;4", &for_terminal(path)))?;
        for f in findings {
            write_finding(out, &p, f, report)?;
        }
        writeln!(out)?;
    }
    for e in &report.errors {
        writeln!(
            out,
            "{} {}: {}",
            p.c("1;31", "error:"),
            for_terminal(&e.path),
            for_terminal(&e.message)
        )?;
    }
    for n in &report.notes {
        writeln!(out, "{} {}", p.c("2", "note:"), for_terminal(n))?;
    }
    for s in &report.stale {
        match s.line {
            Some(l) => writeln!(
                out,
                "stale: {}:{l}: {} matches no finding (fixed? remove the entry)",
                s.source, s.fingerprint
            )?,
            None => writeln!(
                out,
                "stale: baseline entry {} matches no finding (fixed or removed)",
                s.fingerprint
            )?,
        }
    }
    write_summary(report, &p, out)
}

/// The closing line of an incomplete run (exit code 2), if it is one.
fn write_incomplete(
    out: &mut dyn Write,
    p: &Paint,
    report: &Report,
    what: &str,
    why: &str,
) -> std::io::Result<()> {
    if report.incomplete {
        let n = report.errors.len();
        writeln!(
            out,
            "{}",
            p.c(
                "1;31",
                &format!("{what}: {n} item(s) {why} (see errors above)")
            )
        )?;
    }
    Ok(())
}

fn write_summary(report: &Report, p: &Paint, out: &mut dyn Write) -> std::io::Result<()> {
    let active: Vec<&Finding> = report.active().collect();
    let suppressed = report.findings.len() - active.len();
    let mut by_sev: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut warnings = 0;
    for f in &active {
        if f.is_warning() {
            warnings += 1;
        } else {
            *by_sev.entry(std::cmp::Reverse(f.severity)).or_default() += 1;
        }
        *by_rule.entry(&f.rule_id).or_default() += 1;
    }
    let s = &report.stats;
    let secrets_scanned = s.files > 0 || s.commits > 0 || s.blobs_scanned > 0;
    if active.is_empty() {
        let clean = match (s.dep_audit, secrets_scanned) {
            (true, true) => "No secrets or vulnerable dependencies found.",
            (true, false) => "No vulnerable dependencies found.",
            _ => "No secrets found.",
        };
        writeln!(out, "{}", p.c("1;32", clean))?;
    } else {
        let mut sev: Vec<String> = by_sev
            .iter()
            .map(|(k, n)| format!("{n} {}", k.0.as_str()))
            .collect();
        if warnings > 0 {
            sev.push(format!("{warnings} warning(s)"));
        }
        writeln!(
            out,
            "{} ({})",
            p.c("1;31", &format!("{} finding(s)", active.len())),
            sev.join(", ")
        )?;
        let rules: Vec<String> = by_rule.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
        writeln!(out, "  by rule: {}", rules.join(", "))?;
    }
    if suppressed > 0 {
        writeln!(out, "  {suppressed} suppressed finding(s) not counted")?;
    }
    if s.dep_audit {
        writeln!(
            out,
            "  audited {} package(s) from {} lockfile(s) against {} advisories in {} database(s), {} of them about these packages{}",
            s.packages,
            s.lockfiles,
            s.database_advisories,
            s.databases,
            s.advisories,
            if secrets_scanned {
                String::new()
            } else {
                format!(" in {:.2}s", s.elapsed_ms as f64 / 1000.0)
            }
        )?;
    }
    if s.dep_audit && !secrets_scanned {
        write_incomplete(out, p, report, "audit incomplete", "could not be read")?;
        return Ok(());
    }
    let mb = s.bytes_scanned as f64 / 1e6;
    write!(out, "  scanned {} blob(s), {:.1} MB", s.blobs_scanned, mb)?;
    if s.files > 0 {
        write!(out, " from {} file(s)", s.files)?;
    }
    if s.commits > 0 {
        write!(
            out,
            ", {} commit(s), {} unique history blob(s)",
            s.commits, s.history_blobs
        )?;
    }
    writeln!(out, " in {:.2}s", s.elapsed_ms as f64 / 1000.0)?;
    let mut skipped = Vec::new();
    if s.skipped_binary > 0 {
        skipped.push(format!("{} binary", s.skipped_binary));
    }
    if s.skipped_large > 0 {
        skipped.push(format!("{} over the size limit", s.skipped_large));
    }
    if s.skipped_symlinks > 0 {
        skipped.push(format!(
            "{} symlink(s) (never followed)",
            s.skipped_symlinks
        ));
    }
    if !skipped.is_empty() {
        writeln!(out, "  skipped: {}", skipped.join(", "))?;
    }
    write_incomplete(out, p, report, "scan incomplete", "could not be scanned")?;
    Ok(())
}

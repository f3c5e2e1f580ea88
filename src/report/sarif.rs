//! SARIF 2.1.0 for GitHub code scanning: one run, only the rules that fired,
//! one result per location, `partialFingerprints`, relative URIs. Never the
//! secret itself (SARIF is uploaded), and no personal data in fingerprints.

use serde_json::{Value, json};

use super::Report;
use crate::finding::{Finding, FindingKind, Location, Provenance, Severity, Suppression};

/// SARIF level for a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn rule_json(r: &super::RuleMeta) -> Value {
    if r.kind == FindingKind::Advisory {
        return advisory_rule_json(r);
    }
    let mut help = format!("{}\n\n", r.description);
    let mut md = format!("{}\n\n", r.description);
    if let Some(rot) = &r.rotate {
        help.push_str(&format!("Rotate or revoke the credential: {rot}\n"));
        md.push_str(&format!("**Rotate or revoke the credential:** <{rot}>\n\n"));
    }
    help.push_str("Then remove it from the code (read it from the environment or a secret manager) and, if the repository is not public yet, purge it from history with git filter-repo.");
    md.push_str("Then remove it from the code (read it from the environment or a secret manager) and, if the repository is not public yet, purge it from history with `git filter-repo --replace-text`.");
    for rf in &r.references {
        md.push_str(&format!("\n- <{rf}>"));
    }
    let mut tags = vec!["security", "secret"];
    if r.id.starts_with("generic.") {
        tags.push("generic");
    }
    let mut rule = json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": { "text": r.name },
        "fullDescription": { "text": if r.description.is_empty() { r.name.clone() } else { r.description.clone() } },
        "help": { "text": help, "markdown": md },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "security-severity": r.severity.security_severity(),
            "precision": r.precision.as_str(),
            "tags": tags,
        },
    });
    if let Some(u) = r.rotate.as_ref().or(r.references.first()) {
        rule["helpUri"] = json!(u);
    }
    rule
}

/// A rule per advisory: `security-severity` is the CVSS base score when the
/// advisory has one, else the severity band's value.
fn advisory_rule_json(r: &super::RuleMeta) -> Value {
    let short: String = r.name.chars().take(200).collect();
    let mut md = format!(
        "{}\n\n**Fix:** upgrade the package to a fixed version (see the result message), or, if it does not apply, add `{{ id = \"{}\", reason = \"…\" }}` to `[[deps.ignore]]` in `.preflight.toml`.",
        r.description, r.id
    );
    for rf in &r.references {
        md.push_str(&format!("\n- <{rf}>"));
    }
    let security_severity = match r.cvss {
        Some(score) => format!("{score:.1}"),
        None => r.severity.security_severity().to_string(),
    };
    let mut rule = json!({
        "id": r.id,
        "name": r.id,
        "shortDescription": { "text": short },
        "fullDescription": { "text": if r.description.is_empty() { r.name.clone() } else { r.description.clone() } },
        "help": { "text": format!("{}\n\nUpgrade the package to a fixed version, or ignore the advisory with a reason in .preflight.toml ([[deps.ignore]]).", r.description), "markdown": md },
        "defaultConfiguration": { "level": if r.informational.is_some() { "warning" } else { level(r.severity) } },
        "properties": {
            "security-severity": security_severity,
            "precision": r.precision.as_str(),
            "tags": match &r.informational {
                Some(kind) => json!(["security", "dependency", kind]),
                None => json!(["security", "vulnerability", "dependency"]),
            },
        },
    });
    if let Some(u) = r.references.first() {
        rule["helpUri"] = json!(u);
    }
    rule
}

/// The result message of an advisory finding: package, version, fix.
fn advisory_message(f: &Finding) -> String {
    let Some(a) = &f.advisory else {
        return format!("{}: {}", f.rule_id, f.rule_name);
    };
    let fix = match (&a.smallest_fix, a.fixed_versions.is_empty()) {
        (Some(v), _) => format!("upgrade to {v} or later"),
        (None, false) => format!(
            "no fixed version above {} is known (fixed: {})",
            a.version,
            a.fixed_versions.join(", ")
        ),
        (None, true) => "no fixed version is known".to_string(),
    };
    let what = match &a.informational {
        Some(kind) => format!("is {kind}"),
        None => "is affected".to_string(),
    };
    format!(
        "{} {} {what} by {} ({}): {}",
        a.package, a.version, f.rule_id, a.summary, fix
    )
}

/// One result per finding and path: `group` holds that path's locations (working
/// tree first, then history oldest first); the first one gives the region, history
/// facts go in `properties` (commits, dates and refs; never names or emails).
fn result_json(f: &Finding, group: &[&Location], rule_index: usize) -> Value {
    let loc = group[0];
    let mut props = json!({ "severity": f.severity.as_str(), "source": source_name(&loc.provenance), "findingFingerprint": f.fingerprint });
    let history: Vec<&crate::finding::GitProvenance> = group
        .iter()
        .filter_map(|l| match &l.provenance {
            Provenance::Git(g) => Some(g),
            _ => None,
        })
        .collect();
    if let (Some(first), Some(last)) = (history.first(), history.last()) {
        props["commit"] = json!(first.commit);
        props["commitDate"] = json!(first.date);
        props["refs"] = json!(first.refs);
        props["inHead"] = json!(history.iter().any(|g| g.in_head));
        props["versions"] = json!(history.len());
        if let Some(rm) = &last.removed_in {
            props["removedIn"] = json!(rm);
        }
    }
    if !f.keys.is_empty() {
        props["keys"] = json!(f.keys);
    }
    if let Some(a) = &f.advisory {
        props["source"] = json!("lockfile");
        props["ecosystem"] = json!(a.ecosystem);
        props["package"] = json!(a.package);
        props["version"] = json!(a.version);
        props["aliases"] = json!(a.aliases);
        props["fixedVersions"] = json!(a.fixed_versions);
        if let Some(v) = &a.smallest_fix {
            props["smallestFix"] = json!(v);
        }
        if let Some(k) = &a.informational {
            props["informational"] = json!(k);
        }
    }
    let what = if f.keys.is_empty() {
        String::new()
    } else {
        format!(" (keys: {})", f.keys.join(", "))
    };
    let mut r = json!({
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": if f.is_warning() { "warning" } else { level(f.severity) },
        "message": { "text": if f.kind == FindingKind::Advisory { advisory_message(f) } else { format!("{} found: {}{}", f.rule_name, f.secret, what) } },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri_escape(&loc.path), "uriBaseId": "SRCROOT" },
                "region": {
                    "startLine": loc.start.line,
                    "startColumn": loc.start.column,
                    "endLine": loc.end.line,
                    "endColumn": loc.end.column.max(1),
                },
            },
        }],
        "partialFingerprints": { "preflight/v1": loc.fingerprint },
        "properties": props,
    });
    if let Some(s) = &loc.suppressed {
        let (kind, why) = match s {
            Suppression::InlineComment => ("inSource", "inline allow comment".to_string()),
            Suppression::IgnoreFile { reason } => {
                ("external", format!(".preflightignore: {reason}"))
            }
            Suppression::Baseline => ("external", "in baseline".to_string()),
            Suppression::ConfigPath => ("external", "path allowed in .preflight.toml".to_string()),
            Suppression::AdvisoryIgnore { reason } => {
                ("external", format!(".preflight.toml deps.ignore: {reason}"))
            }
        };
        r["suppressions"] = json!([{ "kind": kind, "justification": why }]);
    }
    r
}

fn source_name(p: &Provenance) -> &'static str {
    match p {
        Provenance::File => "worktree",
        Provenance::Staged => "staged",
        Provenance::Git(_) => "history",
        Provenance::Unreachable { .. } => "unreachable",
    }
}

/// Percent-encode what a relative URI reference may not hold literally.
pub fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Build the SARIF document.
pub fn build_sarif(report: &Report) -> Value {
    build_sarif_limited(report, MAX_RESULTS, MAX_COMPRESSED_BYTES)
}

/// GitHub code scanning accepts at most this many results per run.
pub const MAX_RESULTS: usize = 25_000;
/// GitHub code scanning accepts SARIF uploads up to 10 MB gzip-compressed.
pub const MAX_COMPRESSED_BYTES: usize = 10 << 20;

fn compressed_len(v: &Value) -> usize {
    let raw = serde_json::to_vec(v).unwrap_or_default();
    let mut out = vec![0u8; zlib_rs::compress_bound(raw.len())];
    let (c, _) = zlib_rs::compress_slice(&mut out, &raw, zlib_rs::DeflateConfig::default());
    c.len()
}

/// Build SARIF within `max_results` and `max_bytes` (compressed). Beyond them the
/// most severe results are kept and a notification says what was dropped.
pub fn build_sarif_limited(report: &Report, max_results: usize, max_bytes: usize) -> Value {
    let rules: Vec<&super::RuleMeta> = report.rules.values().collect();
    let index_of = |id: &str| rules.iter().position(|r| r.id == id).unwrap_or(0);
    let mut results = Vec::new();
    for f in &report.findings {
        let ri = index_of(&f.rule_id);
        for (_, group) in f.locations_by_path() {
            // Suppressed results go last when something must be dropped.
            results.push((
                f.severity,
                group[0].suppressed.is_none(),
                results.len(),
                result_json(f, &group, ri),
            ));
        }
    }
    let total = results.len();
    let mut keep = total.min(max_results);
    if keep < total
        || compressed_len(&json!(results.iter().map(|r| &r.3).collect::<Vec<_>>())) > max_bytes
    {
        results.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)).then(a.2.cmp(&b.2)));
        loop {
            let part: Vec<&Value> = results[..keep].iter().map(|r| &r.3).collect();
            if keep == 0 || compressed_len(&json!(part)) <= max_bytes * 9 / 10 {
                break;
            }
            keep = keep * 4 / 5;
        }
        results.truncate(keep);
        results.sort_by_key(|r| r.2);
    }
    let dropped = total - results.len();
    let results: Vec<Value> = results.into_iter().map(|r| r.3).collect();
    let mut notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| json!({ "level": "error", "message": { "text": format!("{}: {}", e.path, e.message) } }))
        .chain(report.notes.iter().map(|n| json!({ "level": "note", "message": { "text": n } })))
        .collect();
    if dropped > 0 {
        let min_kept = report
            .findings
            .iter()
            .map(|f| f.severity)
            .max()
            .map(|s| s.as_str())
            .unwrap_or("none");
        notifications.push(json!({ "level": "warning", "message": { "text": format!(
            "SARIF limits (GitHub: {max_results} results, {} MB compressed): kept the {} most severe of {total} results, dropped {dropped}; the JSON report has them all (highest severity present: {min_kept})",
            max_bytes >> 20, total - dropped) } }));
    }
    let mut root = report.root_abs.to_string_lossy().replace('\\', "/");
    if !root.ends_with('/') {
        root.push('/');
    }
    let mut run = json!({
        "tool": { "driver": {
            "name": "preflight",
            "semanticVersion": report.tool_version,
            "version": report.tool_version,
            "informationUri": "https://github.com/preflight-dev/preflight",
            "rules": rules.iter().map(|r| rule_json(r)).collect::<Vec<_>>(),
        }},
        "originalUriBaseIds": { "SRCROOT": { "uri": format!("file://{}", uri_escape(&root)) } },
        "invocations": [{
            "executionSuccessful": !report.incomplete,
            "toolExecutionNotifications": notifications,
        }],
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(v) = &report.vcs {
        let mut p = json!({ "revisionId": v.revision });
        if let Some(b) = &v.branch {
            p["branch"] = json!(b);
        }
        if let Some(u) = &v.repository_uri {
            p["repositoryUri"] = json!(u);
        } else {
            p["repositoryUri"] = json!(format!("file://{}", uri_escape(&root)));
        }
        p["mappedTo"] = json!({ "uriBaseId": "SRCROOT" });
        run["versionControlProvenance"] = json!([p]);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}

/// Write SARIF JSON.
pub fn write_sarif(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    super::json::write_pretty(&build_sarif(report), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(sevs: &[Severity]) -> Report {
        crate::report::testing::report_with(sevs, false)
    }

    #[test]
    fn uri_escaping() {
        assert_eq!(uri_escape("a b/ü#.txt"), "a%20b/%C3%BC%23.txt");
    }

    #[test]
    fn truncation_keeps_the_most_severe_and_says_so() {
        let r = report(&[
            Severity::Low,
            Severity::Critical,
            Severity::Medium,
            Severity::High,
            Severity::Info,
        ]);
        let v = build_sarif_limited(&r, 2, MAX_COMPRESSED_BYTES);
        let results = v["runs"][0]["results"].as_array().unwrap();
        let levels: Vec<&str> = results
            .iter()
            .map(|r| r["properties"]["severity"].as_str().unwrap())
            .collect();
        assert_eq!(levels, ["critical", "high"]);
        let notes = v["runs"][0]["invocations"][0]["toolExecutionNotifications"].to_string();
        assert!(notes.contains("dropped 3"), "{notes}");
        // Within limits nothing is dropped.
        let v = build_sarif_limited(&r, 25_000, MAX_COMPRESSED_BYTES);
        assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn truncation_by_compressed_size() {
        let r = report(&vec![Severity::High; 400]);
        let v = build_sarif_limited(&r, 25_000, 2_000);
        let n = v["runs"][0]["results"].as_array().unwrap().len();
        assert!(n > 0 && n < 400, "{n}");
    }
}

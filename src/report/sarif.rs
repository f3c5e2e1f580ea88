//! SARIF 2.1.0 for GitHub code scanning: one run, only the rules that fired,
//! one result per location, `partialFingerprints`, relative URIs. Never the
//! secret itself (SARIF is uploaded), and no personal data in fingerprints.

use serde_json::{Value, json};

use super::Report;
use crate::finding::{Finding, Location, Provenance, Severity, Suppression};

/// SARIF level for a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn rule_json(r: &super::RuleMeta) -> Value {
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

fn result_json(f: &Finding, loc: &Location, rule_index: usize) -> Value {
    let mut props = json!({ "severity": f.severity.as_str(), "source": source_name(&loc.provenance), "findingFingerprint": f.fingerprint });
    if let Provenance::Git(g) = &loc.provenance {
        props["commit"] = json!(g.commit);
        props["commitDate"] = json!(g.date);
        props["refs"] = json!(g.refs);
        props["inHead"] = json!(g.in_head);
    }
    if !f.keys.is_empty() {
        props["keys"] = json!(f.keys);
    }
    let what = if f.keys.is_empty() {
        String::new()
    } else {
        format!(" (keys: {})", f.keys.join(", "))
    };
    let mut r = json!({
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": format!("{} found: {}{}", f.rule_name, f.secret, what) },
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
    let rules: Vec<&super::RuleMeta> = report.rules.values().collect();
    let index_of = |id: &str| rules.iter().position(|r| r.id == id).unwrap_or(0);
    let mut results = Vec::new();
    for f in &report.findings {
        let ri = index_of(&f.rule_id);
        for loc in &f.locations {
            results.push(result_json(f, loc, ri));
        }
    }
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| json!({ "level": "error", "message": { "text": format!("{}: {}", e.path, e.message) } }))
        .chain(report.notes.iter().map(|n| json!({ "level": "note", "message": { "text": n } })))
        .collect();
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
    serde_json::to_writer_pretty(&mut *out, &build_sarif(report))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uri_escaping() {
        assert_eq!(super::uri_escape("a b/ü#.txt"), "a%20b/%C3%BC%23.txt");
    }
}

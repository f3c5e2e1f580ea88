//! Suppression paths: inline markers, `.preflightignore`, `--baseline`,
//! `.preflight.toml` (`allow.paths`, `rules.disable`, inline rules), and the
//! errors a malformed ignore or config file must produce.

use serde_json::json;

use crate::util::*;

/// A file whose token line carries `marker` is scanned; the finding is marked
/// suppressed by the inline comment and the exit code is 0.
fn assert_inline_marker_suppresses(file: &str, line: impl Fn(&str) -> String) {
    let dir = tempdir();
    let token = github_token(100);
    write(dir.path(), file, format!("first line\n{}\n", line(&token)));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", file);
    assert_eq!(f["suppressed"], json!({"by": "inline_comment"}), "{f:#}");
    assert_eq!(
        locations(f)[0]["suppressed"],
        json!({"by": "inline_comment"})
    );
}

#[test]
fn inline_preflight_allow_suppresses_finding() {
    assert_inline_marker_suppresses("fixtures.py", |t| {
        format!("TOKEN = \"{t}\"  # preflight:allow test fixture")
    });
}

#[test]
fn inline_gitleaks_allow_suppresses_finding() {
    assert_inline_marker_suppresses("fixtures.js", |t| {
        format!("const token = \"{t}\"; // gitleaks:allow")
    });
}

#[test]
fn inline_pragma_allowlist_secret_suppresses_finding() {
    assert_inline_marker_suppresses("fixtures.sh", |t| {
        format!("TOKEN={t} # pragma: allowlist secret")
    });
}

#[test]
fn inline_marker_on_another_line_does_not_suppress() {
    let dir = tempdir();
    let token = github_token(101);
    write(
        dir.path(),
        "a.py",
        format!("# preflight:allow\nTOKEN = \"{token}\"\n"),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(active(&report).len(), 1);
}

#[test]
fn preflightignore_with_reason_suppresses_finding() {
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(102)));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let fp = findings(&report)[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    write(
        dir.path(),
        ".preflightignore",
        format!("# reviewed\n{fp} revoked on 2024-01-05, kept for the tutorial\n"),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(
        f["suppressed"],
        json!({"by": "ignore_file", "reason": "revoked on 2024-01-05, kept for the tutorial"})
    );
    assert!(report["stale"].as_array().unwrap().is_empty());
}

#[test]
fn preflightignore_location_fingerprint_suppresses_only_that_location() {
    let dir = tempdir();
    let token = github_token(103);
    write(dir.path(), "docs/tutorial.md", format!("use {token}\n"));
    write(dir.path(), "src/app.py", format!("T = \"{token}\"\n"));
    let (_, report) = scan_json(dir.path(), &[]);
    let f = finding_at(&report, "github.pat-classic", "docs/tutorial.md");
    let doc_fp = locations(f)
        .iter()
        .find(|l| l["path"] == "docs/tutorial.md")
        .unwrap()["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();

    write(
        dir.path(),
        ".preflightignore",
        format!("{doc_fp} documentation\n"),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "the src/ location is still active: {report:#}");
    let f = finding_at(&report, "github.pat-classic", "src/app.py");
    assert!(f.get("suppressed").is_none(), "{f:#}");
    for l in locations(f) {
        if l["path"] == "docs/tutorial.md" {
            assert_eq!(l["suppressed"]["by"], "ignore_file");
        } else {
            assert!(l.get("suppressed").is_none(), "{l:#}");
        }
    }
}

#[test]
fn preflightignore_line_without_reason_is_an_error_naming_the_line() {
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(104)));
    write(
        dir.path(),
        ".preflightignore",
        "# comment\n0123456789abcdef01234567 fixture\n89abcdef0123456789abcdef\n",
    );
    let r = scan(dir.path(), &[]);
    r.expect_code(2);
    assert!(
        r.stderr.contains(".preflightignore:3") && r.stderr.contains("reason"),
        "stderr does not name the line: {}",
        r.stderr
    );
    assert!(
        r.stdout.is_empty(),
        "no report on a config error: {}",
        r.stdout
    );
}

#[test]
fn preflightignore_unused_entry_is_listed_as_stale() {
    let dir = tempdir();
    write(dir.path(), "a.txt", "nothing\n");
    write(
        dir.path(),
        ".preflightignore",
        "# old\n\n0123456789abcdef01234567 rotated long ago\n",
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["stale"],
        json!([{"source": ".preflightignore", "fingerprint": "0123456789abcdef01234567", "line": 3}])
    );
}

/// A tree with one secret, its JSON report saved outside the tree as a baseline.
struct BaselineFixture {
    tree: tempfile::TempDir,
    out: tempfile::TempDir,
    old_fp: String,
}

impl BaselineFixture {
    fn new() -> Self {
        let tree = tempdir();
        let out = tempdir();
        write(tree.path(), "old.txt", format!("t={}\n", github_token(105)));
        let r = run_in(
            tree.path(),
            &[
                "scan",
                ".",
                "-f",
                "json",
                "-o",
                out.path().join("baseline.json").to_str().unwrap(),
            ],
        );
        r.expect_code(1);
        let saved: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join("baseline.json")).unwrap(),
        )
        .unwrap();
        let old_fp = findings(&saved)[0]["fingerprint"]
            .as_str()
            .unwrap()
            .to_string();
        BaselineFixture { tree, out, old_fp }
    }

    fn rescan(&self) -> (i32, serde_json::Value) {
        let b = self.out.path().join("baseline.json");
        scan_json(self.tree.path(), &["--baseline", b.to_str().unwrap()])
    }
}

#[test]
fn baseline_rescan_of_unchanged_tree_is_clean() {
    let fx = BaselineFixture::new();
    let (code, report) = fx.rescan();
    assert_eq!(code, 0, "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(f["fingerprint"], fx.old_fp.as_str());
    assert_eq!(f["suppressed"], json!({"by": "baseline"}));
    assert!(report["stale"].as_array().unwrap().is_empty());
}

#[test]
fn baseline_reports_exactly_the_new_secret() {
    let fx = BaselineFixture::new();
    write(
        fx.tree.path(),
        "new.txt",
        format!("t={}\n", github_token(106)),
    );
    let (code, report) = fx.rescan();
    assert_eq!(code, 1, "{report:#}");
    let act = active(&report);
    assert_eq!(act.len(), 1, "{report:#}");
    assert_eq!(paths(act[0]), ["new.txt"]);
    assert_ne!(act[0]["fingerprint"], fx.old_fp.as_str());
}

#[test]
fn baseline_entry_of_removed_secret_is_stale() {
    let fx = BaselineFixture::new();
    std::fs::remove_file(fx.tree.path().join("old.txt")).unwrap();
    let (code, report) = fx.rescan();
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    assert_eq!(
        report["stale"],
        json!([{"source": "baseline", "fingerprint": fx.old_fp}])
    );
}

#[test]
fn baseline_that_is_not_a_report_is_an_error() {
    let dir = tempdir();
    let out = tempdir();
    write(out.path(), "b.json", "{\"hello\": 1}\n");
    let b = out.path().join("b.json");
    let r = scan(dir.path(), &["--baseline", b.to_str().unwrap()]);
    r.expect_code(2);
    assert!(r.stderr.contains("b.json"), "{}", r.stderr);
}

#[test]
fn config_allow_paths_suppresses_findings_under_the_path() {
    let dir = tempdir();
    write(
        dir.path(),
        ".preflight.toml",
        "[allow]\npaths = [\"testdata/\", \"*.snap\"]\n",
    );
    write(
        dir.path(),
        "testdata/keys.txt",
        format!("t={}\n", github_token(107)),
    );
    write(
        dir.path(),
        "snaps/x.snap",
        format!("t={}\n", github_token(108)),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(findings(&report).len(), 2);
    for f in findings(&report) {
        assert_eq!(f["suppressed"], json!({"by": "config_path"}), "{f:#}");
    }

    write(
        dir.path(),
        "src/keys.txt",
        format!("t={}\n", github_token(109)),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let act = active(&report);
    assert_eq!(act.len(), 1);
    assert_eq!(paths(act[0]), ["src/keys.txt"]);
}

#[test]
fn config_rules_disable_turns_a_rule_off() {
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(110)));
    write(
        dir.path(),
        "settings.py",
        format!("password = \"{}\"\n", strong_password()),
    );
    write(
        dir.path(),
        ".preflight.toml",
        "[rules]\ndisable = [\"github.pat-classic\"]\n",
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rule_ids(&report), ["generic.quoted-assignment"]);
}

#[test]
fn config_rules_disable_of_unknown_rule_is_noted() {
    let dir = tempdir();
    write(
        dir.path(),
        ".preflight.toml",
        "[rules]\ndisable = [\"nosuch.rule\"]\n",
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("nosuch.rule")),
        "{notes:?}"
    );
}

#[test]
fn config_inline_rule_reports_custom_token() {
    let dir = tempdir();
    write(
        dir.path(),
        ".preflight.toml",
        r#"[[rule]]
id = "acme.api-key"
name = "ACME API key"
severity = "critical"
pattern = '''\b(acme_[a-z0-9]{32})\b'''
keywords = ["acme_"]
"#,
    );
    let key = format!(
        "acme_{}",
        chars_from(111, 32, b"abcdefghijklmnopqrstuvwxyz0123456789")
    );
    write(dir.path(), "client.rb", format!("KEY = '{key}'\n"));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "acme.api-key", "client.rb");
    assert_eq!(f["severity"], "critical");
    assert_eq!(locations(f)[0]["start"], json!({"line": 1, "column": 8}));
    assert_eq!(report["rules"]["acme.api-key"]["name"], "ACME API key");
}

#[test]
fn config_passed_with_flag_is_used() {
    let dir = tempdir();
    let cfg = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(112)));
    write(
        cfg.path(),
        "ci.toml",
        "[rules]\ndisable = [\"github.pat-classic\"]\n",
    );
    let p = cfg.path().join("ci.toml");
    let (code, report) = scan_json(dir.path(), &["--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());

    let missing = cfg.path().join("missing.toml");
    let r = scan(dir.path(), &["--config", missing.to_str().unwrap()]);
    r.expect_code(2);
    assert!(r.stderr.contains("missing.toml"), "{}", r.stderr);
}

#[test]
fn malformed_config_unknown_key_is_an_error_naming_key_and_line() {
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(113)));
    write(
        dir.path(),
        ".preflight.toml",
        "# config\n[rules]\ndisabel = [\"github.pat-classic\"]\n",
    );
    let r = scan(dir.path(), &[]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("disabel") && r.stderr.contains("line 3"),
        "stderr: {}",
        r.stderr
    );
    assert!(r.stderr.contains(".preflight.toml"), "stderr: {}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn malformed_config_syntax_error_is_an_error_naming_the_line() {
    let dir = tempdir();
    write(
        dir.path(),
        ".preflight.toml",
        "[allow]\npaths = [\"a/\"\n\n[rules\n",
    );
    let r = scan(dir.path(), &[]);
    r.expect_code(2);
    assert!(r.stderr.contains(".preflight.toml"), "stderr: {}", r.stderr);
    assert!(r.stderr.contains("line "), "stderr: {}", r.stderr);
}

#[test]
fn malformed_config_invalid_rule_regex_is_an_error_naming_the_rule() {
    let dir = tempdir();
    write(
        dir.path(),
        ".preflight.toml",
        "[[rule]]\nid = \"acme.bad\"\nname = \"bad\"\nseverity = \"high\"\npattern = '''(unclosed'''\nkeywords = [\"acme\"]\n",
    );
    let r = scan(dir.path(), &[]);
    r.expect_code(2);
    assert!(r.stderr.contains("acme.bad"), "stderr: {}", r.stderr);
}

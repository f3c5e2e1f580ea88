//! Report formats as public API: SARIF validates against the 2.1.0 schema and
//! never carries a secret; JSON and text redact unless `--show-secrets`;
//! output does not depend on the thread count; fingerprints are stable.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::*;

/// The SARIF 2.1.0 schema, read in place from the shared checkout (never
/// copied into this repository). `None`, with a message, where it is absent.
fn sarif_schema() -> Option<Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sarif/sarif-schema-2.1.0.json");
    match std::fs::read_to_string(&p) {
        Ok(text) => Some(serde_json::from_str(&text).expect("the SARIF schema is JSON")),
        Err(e) => {
            eprintln!(
                "SKIPPED: SARIF schema validation: {} not readable ({e}); the schema is read in place from ../shared",
                p.display()
            );
            None
        }
    }
}

/// Validate `doc` against the SARIF schema, under the draft its `$schema`
/// declares (draft-04) and under draft-07 (what ../shared/sarif/SOURCE.md says).
fn assert_valid_sarif(schema: &Value, doc: &Value) {
    let declared = jsonschema::validator_for(schema).expect("SARIF schema compiles");
    let draft7 = jsonschema::draft7::new(schema).expect("SARIF schema compiles as draft-07");
    for (name, v) in [("declared draft", &declared), ("draft-07", &draft7)] {
        let errors: Vec<String> = v
            .iter_errors(doc)
            .map(|e| format!("{e} (at {})", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "SARIF is invalid ({name}):\n{}\n{doc:#}",
            errors.join("\n")
        );
    }
}

/// Every secret planted by [`fixture`].
struct Fixture {
    repo: TestRepo,
    secrets: Vec<String>,
}

/// A repository with findings in history and worktree, a removed `.env`, an
/// inline-allowed token, an unknown disabled rule (a note) and a stale ignore entry.
fn fixture() -> Fixture {
    let repo = TestRepo::new();
    let token = github_token(200);
    let allowed = github_token(201);
    let password = strong_password();
    let env_key = chars_from(202, 32, b"abcdef0123456789");
    let aws = aws_key_id(203);
    let settings = format!("DEBUG = False\npassword = \"{password}\"\n");
    let app = format!("const gh = \"{token}\";\n");
    let env = format!("API_KEY={env_key}\nPORT=8080\n");
    repo.commit(
        "add config",
        &[
            ("config/settings.py", settings.as_str()),
            ("src/app.js", app.as_str()),
            // A path that needs percent-encoding in a SARIF uri.
            ("src/Ünï dir/app #1.js", app.as_str()),
            (".env", env.as_str()),
        ],
    );
    repo.rm(&[".env"]);
    repo.commit("remove env", &[]);
    let notes = format!("Example: `{allowed}` <!-- preflight:allow -->\n");
    repo.commit(
        "docs",
        &[
            ("docs/notes.md", notes.as_str()),
            (".preflight.toml", "[rules]\ndisable = [\"nosuch.rule\"]\n"),
            (".preflightignore", "0123456789abcdef01234567 old entry\n"),
        ],
    );
    repo.write("local/creds.ini", format!("aws_access_key_id = {aws}\n"));
    for i in 0..30u64 {
        // Many small files so -j2 really interleaves work.
        let t = github_token(300 + i % 7);
        repo.write(&format!("gen/m{i:02}/f.txt"), format!("n={i}\nt={t}\n"));
    }
    let mut secrets = vec![token, allowed, password, env_key, aws];
    secrets.extend((0..7).map(|i| github_token(300 + i)));
    Fixture { repo, secrets }
}

fn sarif_of(dir: &Path, extra: &[&str]) -> (i32, String, Value) {
    let mut args = vec!["scan", ".", "-f", "sarif"];
    args.extend_from_slice(extra);
    let r = run_in(dir, &args);
    let v = r.json();
    (r.code, r.stdout, v)
}

#[test]
fn sarif_for_fixture_repo_validates_against_schema() {
    let fx = fixture();
    let (code, _, sarif) = sarif_of(fx.repo.path(), &[]);
    assert_eq!(code, 1);
    if let Some(schema) = sarif_schema() {
        assert_valid_sarif(&schema, &sarif);
    }
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["tool"]["driver"]["name"], "preflight");
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);

    // Rules listed are exactly the rules of the results, and ruleIndex points at them.
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = run["results"].as_array().unwrap();
    let used: BTreeSet<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(rules.iter().copied().collect::<BTreeSet<_>>(), used);
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i], r["ruleId"].as_str().unwrap());
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
        assert!(
            !loc["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with('/')
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
        assert!(r["partialFingerprints"]["preflight/v1"].is_string());
    }

    // One result per finding and path of the JSON report (a file's history
    // versions and its working-tree copy are one code-scanning alert).
    let (_, report) = scan_json(fx.repo.path(), &[]);
    let n_paths: usize = findings(&report)
        .iter()
        .map(|f| {
            locations(f)
                .iter()
                .map(|l| l["path"].as_str().unwrap().to_string())
                .collect::<BTreeSet<_>>()
                .len()
        })
        .sum();
    assert_eq!(results.len(), n_paths);
    let fps: BTreeSet<&str> = results
        .iter()
        .map(|r| r["partialFingerprints"]["preflight/v1"].as_str().unwrap())
        .collect();
    assert_eq!(
        fps.len(),
        results.len(),
        "each result has its own fingerprint"
    );

    // The inline-allowed token is a suppressed result, not a missing one.
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "docs/notes.md"
        })
        .collect();
    assert!(!suppressed.is_empty());
    for r in suppressed {
        assert_eq!(r["suppressions"][0]["kind"], "inSource", "{r:#}");
    }
    // The note (unknown disabled rule) is a tool notification.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes.iter().any(|n| n["message"]["text"]
            .as_str()
            .unwrap()
            .contains("nosuch.rule")),
        "{notes:#?}"
    );
    assert_eq!(
        run["versionControlProvenance"][0]["revisionId"],
        fx.repo.head().as_str()
    );
}

#[test]
fn sarif_schema_check_rejects_a_broken_document() {
    // Guards the validation above: a check that accepts anything proves nothing.
    let Some(schema) = sarif_schema() else { return };
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(230)));
    let (_, _, mut sarif) = sarif_of(dir.path(), &[]);
    assert_valid_sarif(&schema, &sarif);
    sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        serde_json::json!(0);
    sarif["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    for v in [
        jsonschema::validator_for(&schema).unwrap(),
        jsonschema::draft7::new(&schema).unwrap(),
    ] {
        assert_eq!(v.iter_errors(&sarif).count(), 2);
    }
}

#[test]
fn sarif_for_empty_tree_validates_against_schema() {
    let dir = tempdir();
    let (code, _, sarif) = sarif_of(dir.path(), &[]);
    assert_eq!(code, 0);
    assert!(sarif["runs"][0]["results"].as_array().unwrap().is_empty());
    if let Some(schema) = sarif_schema() {
        assert_valid_sarif(&schema, &sarif);
    }
}

#[test]
fn sarif_for_incomplete_scan_marks_execution_unsuccessful() {
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(210)));
    make_unwalkable_dir(dir.path(), "nothing");
    let (code, _, sarif) = sarif_of(dir.path(), &[]);
    assert_eq!(code, 2, "an incomplete scan exits 2");
    let inv = &sarif["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert!(
        inv["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["level"] == "error"),
        "{inv:#}"
    );
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
    if let Some(schema) = sarif_schema() {
        assert_valid_sarif(&schema, &sarif);
    }
}

#[test]
fn sarif_never_contains_a_secret_even_with_show_secrets() {
    let fx = fixture();
    for extra in [&[][..], &["--show-secrets"][..]] {
        let (code, raw, _) = sarif_of(fx.repo.path(), extra);
        assert_eq!(code, 1);
        for s in &fx.secrets {
            assert!(
                !raw.contains(s.as_str()),
                "SARIF ({extra:?}) contains a secret of length {}",
                s.len()
            );
        }
    }
}

#[test]
fn json_redacts_secrets_unless_show_secrets() {
    let fx = fixture();
    let r = scan(fx.repo.path(), &[]);
    r.expect_code(1);
    for s in &fx.secrets {
        assert!(
            !r.stdout.contains(s.as_str()),
            "JSON leaks a secret by default"
        );
    }
    let report = r.json();
    let token = &fx.secrets[0];
    let f = finding_at(&report, "github.pat-classic", "src/app.js");
    assert_eq!(f["secret"], "ghp_…[40 chars]");
    assert!(f.get("secret_value").is_none());

    let r = scan(fx.repo.path(), &["--show-secrets"]);
    r.expect_code(1);
    let report = r.json();
    let f = finding_at(&report, "github.pat-classic", "src/app.js");
    assert_eq!(f["secret_value"], token.as_str());
    assert!(
        locations(f)[0]["snippet"]
            .as_str()
            .unwrap()
            .contains(token.as_str())
    );
    // The redacted form stays in `secret`, so consumers need not branch.
    assert_eq!(f["secret"], "ghp_…[40 chars]");
}

#[test]
fn text_redacts_secrets_unless_show_secrets() {
    let fx = fixture();
    let r = run_in(fx.repo.path(), &["scan", "."]);
    r.expect_code(1);
    for s in &fx.secrets {
        assert!(
            !r.stdout.contains(s.as_str()),
            "text leaks a secret by default"
        );
        assert!(!r.stderr.contains(s.as_str()), "stderr leaks a secret");
    }
    assert!(r.stdout.contains("src/app.js"), "{}", r.stdout);
    assert!(r.stdout.contains("ghp_…[40 chars]"), "{}", r.stdout);

    let r = run_in(fx.repo.path(), &["scan", ".", "--show-secrets"]);
    r.expect_code(1);
    assert!(r.stdout.contains(fx.secrets[0].as_str()), "{}", r.stdout);
}

/// Drop the lines that hold wall-clock time.
fn without_timing(s: &str, format: &str) -> String {
    s.lines()
        .filter(|l| match format {
            "json" => !l.trim_start().starts_with("\"elapsed_ms\""),
            "text" => !(l.trim_start().starts_with("scanned ") && l.contains(" in ")),
            _ => true,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn output_is_byte_identical_at_one_and_two_threads() {
    let fx = fixture();
    for format in ["json", "sarif", "text"] {
        let mut outs = Vec::new();
        for j in ["-j1", "-j2", "-j2"] {
            let r = run_in(fx.repo.path(), &["scan", ".", "-f", format, j]);
            r.expect_code(1);
            outs.push(without_timing(&r.stdout, format));
        }
        assert!(outs[0].len() > 100, "{format}: suspiciously short output");
        assert_eq!(outs[0], outs[1], "{format}: -j1 and -j2 differ");
        assert_eq!(outs[1], outs[2], "{format}: two -j2 runs differ");
    }
    // The filter removed exactly one line from JSON: nothing else is time-dependent.
    let r = run_in(fx.repo.path(), &["scan", ".", "-f", "json", "-j1"]);
    assert_eq!(
        r.stdout.lines().count(),
        without_timing(&r.stdout, "json").lines().count() + 1
    );
}

/// (rule, finding fingerprint, sorted location fingerprints) of every finding.
fn fingerprints(report: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut v: Vec<_> = findings(report)
        .iter()
        .map(|f| {
            let mut l: Vec<String> = locations(f)
                .iter()
                .map(|l| l["fingerprint"].as_str().unwrap().to_string())
                .collect();
            l.sort();
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
                l,
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn fingerprints_are_stable_across_runs_and_checkouts() {
    let a = fixture();
    let b = fixture();
    assert_ne!(a.repo.path(), b.repo.path());
    let (_, ra1) = scan_json(a.repo.path(), &[]);
    let (_, ra2) = scan_json(a.repo.path(), &[]);
    let (_, rb) = scan_json(b.repo.path(), &[]);
    assert!(!fingerprints(&ra1).is_empty());
    assert_eq!(fingerprints(&ra1), fingerprints(&ra2), "two runs differ");
    assert_eq!(
        fingerprints(&ra1),
        fingerprints(&rb),
        "the same content in another directory has other fingerprints"
    );
    // Scanning by absolute path instead of "." changes nothing either.
    let abs: PathBuf = a.repo.path().canonicalize().unwrap();
    let r = run_in(
        Path::new("/"),
        &["scan", abs.to_str().unwrap(), "-f", "json"],
    );
    assert_eq!(fingerprints(&r.json()), fingerprints(&ra1));
}

#[test]
fn finding_fingerprint_survives_edits_and_moves() {
    let dir = tempdir();
    let token = github_token(220);
    write(dir.path(), "a.txt", format!("t={token}\n"));
    let (_, r1) = scan_json(dir.path(), &["--show-secrets"]);
    let f1 = &findings(&r1)[0];

    // Same file, other line and column: both fingerprints unchanged.
    write(
        dir.path(),
        "a.txt",
        format!("header\n\n  token = {token}\n"),
    );
    let (_, r2) = scan_json(dir.path(), &[]);
    let f2 = &findings(&r2)[0];
    assert_eq!(f1["fingerprint"], f2["fingerprint"]);
    assert_eq!(
        locations(f1)[0]["fingerprint"],
        locations(f2)[0]["fingerprint"]
    );

    // Moved to another file: finding fingerprint kept, location fingerprint changes.
    std::fs::rename(dir.path().join("a.txt"), dir.path().join("b.txt")).unwrap();
    let (_, r3) = scan_json(dir.path(), &[]);
    let f3 = &findings(&r3)[0];
    assert_eq!(f1["fingerprint"], f3["fingerprint"]);
    assert_ne!(
        locations(f1)[0]["fingerprint"],
        locations(f3)[0]["fingerprint"]
    );

    // Another secret: another fingerprint.
    write(dir.path(), "b.txt", format!("t={}\n", github_token(221)));
    let (_, r4) = scan_json(dir.path(), &[]);
    assert_ne!(f1["fingerprint"], findings(&r4)[0]["fingerprint"]);
}

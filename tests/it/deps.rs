//! Dependency audit end to end: every lockfile format against the fictional
//! advisory databases in testdata/ (every range edge case), ignores, exit
//! codes, SARIF, `check` (secrets + deps in one report), `db update` against a
//! local git remote, and the real RustSec/PyPA snapshots in ../shared when present.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::*;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn testdata(rel: &str) -> String {
    manifest().join("testdata").join(rel).display().to_string()
}

/// The three fictional databases, as `--db` arguments.
fn fixture_dbs() -> Vec<String> {
    ["rustsec", "osv", "pypa"]
        .iter()
        .flat_map(|d| ["--db".to_string(), testdata(&format!("advisory-db/{d}"))])
        .collect()
}

/// `preflight deps TARGET -f json --db ... EXTRA` in `dir`, with no default databases.
fn deps(dir: &Path, target: &str, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["deps".into(), target.into(), "-f".into(), "json".into()];
    args.extend(fixture_dbs());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_in(dir, &refs)
}

/// (advisory id, package version, every location as path:line), sorted.
fn hits(report: &Value) -> BTreeSet<(String, String, Vec<String>)> {
    findings(report)
        .iter()
        .map(|f| {
            let a = &f["advisory"];
            let locs = locations(f)
                .iter()
                .map(|l| format!("{}:{}", l["path"].as_str().unwrap(), l["start"]["line"]))
                .collect();
            (
                f["rule_id"].as_str().unwrap().to_string(),
                format!(
                    "{} {}",
                    a["package"].as_str().unwrap(),
                    a["version"].as_str().unwrap()
                ),
                locs,
            )
        })
        .collect()
}

fn h(id: &str, pkg: &str, locs: &[&str]) -> (String, String, Vec<String>) {
    (
        id.into(),
        pkg.into(),
        locs.iter().map(|s| s.to_string()).collect(),
    )
}

fn notes(report: &Value) -> String {
    report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn cargo_lock_v1_to_v4_and_rustsec_edge_cases() {
    let root = manifest().join("testdata/lockfiles");
    let r = deps(&root, ".", &[]);
    let report = r.json();
    let got = hits(&report);
    let cargo: BTreeSet<_> = got
        .iter()
        .filter(|h| h.2[0].starts_with("cargo"))
        .cloned()
        .collect();
    let want: BTreeSet<_> = [
        // v1 and v3: 1.0.0 is hit by both; the GHSA alias of -0006 is not reported again.
        h(
            "RUSTSEC-2099-0001",
            "fixture-vuln 1.0.0",
            &["cargo-v1/Cargo.lock:9", "cargo-v3/Cargo.lock:32"],
        ),
        h(
            "RUSTSEC-2099-0006",
            "fixture-vuln 1.0.0",
            &["cargo-v1/Cargo.lock:9", "cargo-v3/Cargo.lock:32"],
        ),
        // v2: 2.0.1 is inside the second affected interval of -0006 only.
        h(
            "RUSTSEC-2099-0006",
            "fixture-vuln 2.0.1",
            &["cargo-v2/Cargo.lock:12"],
        ),
        // v4: 1.1.0 is patched for -0006 (>= 1.0.5) but not for -0001.
        h(
            "RUSTSEC-2099-0001",
            "fixture-vuln 1.1.0",
            &["cargo-v4/Cargo.lock:13"],
        ),
        // pre-release below the pre-release fix; unmaintained is a warning.
        h(
            "RUSTSEC-2099-0005",
            "fixture-prerelease 2.0.0-rc.1",
            &["cargo-v3/Cargo.lock:17"],
        ),
        h(
            "RUSTSEC-2099-0002",
            "fixture-unmaintained 0.1.0",
            &["cargo-v3/Cargo.lock:27"],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(cargo, want, "{}", r.stdout);
    let by_id = |id: &str| of_rule(&report, id)[0].clone();
    assert_eq!(by_id("RUSTSEC-2099-0001")["severity"], "critical");
    assert_eq!(by_id("RUSTSEC-2099-0002")["severity"], "low");
    assert_eq!(
        by_id("RUSTSEC-2099-0002")["advisory"]["informational"],
        "unmaintained"
    );
    assert_eq!(
        by_id("RUSTSEC-2099-0006")["advisory"]["aliases"],
        serde_json::json!(["GHSA-fx00-0000-0001"])
    );
    assert_eq!(
        by_id("RUSTSEC-2099-0001")["advisory"]["smallest_fix"],
        "1.2.0"
    );
    // Withdrawn and unaffected advisories never show up.
    let ids = rule_ids(&report);
    assert!(
        !ids.iter()
            .any(|i| i == "RUSTSEC-2099-0003" || i == "RUSTSEC-2099-0004"),
        "{ids:?}"
    );
}

#[test]
fn npm_lockfiles_every_format() {
    let root = manifest().join("testdata/lockfiles");
    let report = deps(&root, ".", &[]).json();
    let npm: BTreeSet<_> = hits(&report)
        .into_iter()
        .filter(|h| h.0.contains("NPM"))
        .collect();
    let want: BTreeSet<_> = [
        h(
            "OSV-2099-NPM-1",
            "fixture-npm 1.2.2",
            &[
                "malformed/ok/yarn.lock:3",
                "npm-v3/package-lock.json:11",
                "pnpm-v9/pnpm-lock.yaml:19",
                "yarn-v1/yarn.lock:9",
            ],
        ),
        // last_affected is inclusive.
        h(
            "OSV-2099-NPM-1",
            "fixture-npm 2.1.0",
            &[
                "npm-v1/package-lock.json:7",
                "npm-v2/package-lock.json:10",
                "pnpm-v6/pnpm-lock.yaml:10",
                "yarn-berry/yarn.lock:14",
            ],
        ),
        // `limit` caps the range below 3.0.0; the `versions` list adds the beta.
        h(
            "OSV-2099-NPM-2",
            "@fixture/scoped 2.9.9",
            &[
                "npm-v3/package-lock.json:19",
                "pnpm-v9/pnpm-lock.yaml:16",
                "yarn-v1/yarn.lock:5",
            ],
        ),
        h(
            "OSV-2099-NPM-2",
            "@fixture/scoped 3.0.0-beta.1",
            &["npm-v1/package-lock.json:13"],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(npm, want);
    // 2.1.1 (pnpm v5, nested in v3) is past last_affected; the withdrawn record never fires.
    assert!(of_rule(&report, "OSV-2099-NPM-3").is_empty());
    // Those lockfiles without a finding were read: their packages were audited.
    for (dir, n) in [("npm-shrinkwrap", 1), ("pnpm-v5", 1)] {
        let r = deps(&root.join(dir), ".", &[]).json();
        assert_eq!(r["stats"]["packages"], n, "{dir}: {}", r["stats"]);
        assert_eq!(r["stats"]["lockfiles"], 1, "{dir}");
        // Only the OSV fixture database has npm advisories: it alone is consulted.
        let osv_records = std::fs::read_dir(manifest().join("testdata/advisory-db/osv"))
            .unwrap()
            .filter(|e| {
                let p = e.as_ref().unwrap().path();
                p.extension().is_some_and(|x| x == "json" || x == "yaml")
            })
            .count();
        assert_eq!(r["stats"]["databases"], 1, "{dir}: {}", r["stats"]);
        assert_eq!(
            r["stats"]["database_advisories"], osv_records as u64,
            "{dir}"
        );
    }
    assert_eq!(
        of_rule(&report, "OSV-2099-NPM-1")[0]["severity"],
        "medium",
        "GHSA's MODERATE label"
    );
}

#[test]
fn python_lockfiles_pep440_and_aliases_across_databases() {
    let root = manifest().join("testdata/lockfiles/python");
    let r = deps(&root, ".", &[]);
    r.expect_code(1);
    let report = r.json();
    let want: BTreeSet<_> = [
        // PEP 503: Fixture.Py == fixture-py; PYSEC-2099-1 (PyPA) is the alias of the
        // OSV database's GHSA record, which wins because its database comes first.
        h(
            "GHSA-fx00-0000-0002",
            "Fixture.Py 1.5",
            &["requirements.txt:3"],
        ),
        h(
            "GHSA-fx00-0000-0002",
            "fixture-py 1.0",
            &["Pipfile.lock:11"],
        ),
        h(
            "GHSA-fx00-0000-0002",
            "fixture-py 1.0.post1",
            &["poetry.lock:3"],
        ),
        h("GHSA-fx00-0000-0002", "fixture-py 1.9.9", &["uv.lock:12"]),
        // Epochs: 1.0 and 1.0.dev0 sort before the fix 1!0.1; 1!0.1 itself is fixed.
        h("PYSEC-2099-2", "fixture_epoch 1.0", &["requirements.txt:5"]),
        h("PYSEC-2099-2", "fixture-epoch 1.0.dev0", &["pdm.lock:12"]),
        // last_affected 1.4: a local version of 1.0 is affected, 1.5 is not.
        h(
            "PYSEC-2099-3",
            "fixture-local 1.0+local",
            &["Pipfile.lock:21"],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(hits(&report), want, "{}", r.stdout);
    let f = &of_rule(&report, "GHSA-fx00-0000-0002")[0];
    assert_eq!(
        f["advisory"]["aliases"],
        serde_json::json!(["CVE-2099-1001", "PYSEC-2099-1"])
    );
    assert_eq!(
        f["advisory"]["databases"],
        serde_json::json!(["osv", "pypa"])
    );
    let n = notes(&report);
    for want in [
        "requirements.txt:8: requests>=2.0 is not pinned",
        "Pipfile.lock:15: mylib has no version",
        "poetry.lock: 1 package(s) not from a package index, not audited: forked",
        "OSV-2099-GIT-1: only GIT ranges for fixture-gitonly",
    ] {
        assert!(n.contains(want), "missing note {want:?} in\n{n}");
    }
}

#[test]
fn malformed_lockfiles_are_errors_with_path_and_line_and_the_rest_goes_on() {
    let root = manifest().join("testdata/lockfiles/malformed");
    let r = deps(&root, ".", &[]);
    r.expect_code(2);
    let report = r.json();
    assert_eq!(report["incomplete"], true);
    let errors: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["path"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("Cargo.lock: line 5:"), "{errors:?}");
    assert!(
        errors[1].starts_with("web/package-lock.json: line 5:"),
        "{errors:?}"
    );
    assert_eq!(
        hits(&report).len(),
        1,
        "the valid yarn.lock is still audited"
    );
    // The text report names the errors too, and says the audit is incomplete.
    let mut args = vec!["deps", "."];
    let dbs = fixture_dbs();
    args.extend(dbs.iter().map(String::as_str));
    let text = run_in(&root, &args);
    assert!(
        text.stdout.contains("error: Cargo.lock: line 5"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("audit incomplete"), "{}", text.stdout);
}

#[test]
fn no_database_fails_naming_db_update_and_db_flag() {
    let dir = tempdir();
    write(dir.path(), "Cargo.lock", "version = 3\n");
    let out = preflight()
        .current_dir(dir.path())
        .env("PREFLIGHT_DB_DIR", dir.path().join("no-such-cache"))
        .args(["deps", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("preflight db update") && err.contains("--db"),
        "{err}"
    );
    // A --db that does not exist is an error too, never a silent pass.
    let r = run_in(dir.path(), &["deps", ".", "--db", "missing-db"]);
    r.expect_code(2);
    assert!(r.stderr.contains("missing-db"), "{}", r.stderr);
}

#[test]
fn fail_on_and_ignores_with_reason_and_expiry() {
    let dir = tempdir();
    let lock = std::fs::read_to_string(testdata("lockfiles/cargo-v3/Cargo.lock")).unwrap();
    write(dir.path(), "Cargo.lock", &lock);
    // Highest is critical (RUSTSEC-2099-0001).
    deps(dir.path(), ".", &["--fail-on", "critical"]).expect_code(1);
    write(
        dir.path(),
        ".preflight.toml",
        "[[deps.ignore]]\nid = \"CVE-2099-0001\"\nreason = \"only in a build script\"\nexpires = \"2999-12-31\"\n\n\
         [[deps.ignore]]\nid = \"RUSTSEC-2099-0005\"\nreason = \"old\"\nexpires = \"2000-01-01\"\n\n\
         [[deps.ignore]]\nid = \"RUSTSEC-1999-9999\"\nreason = \"unused\"\n",
    );
    let r = deps(dir.path(), ".", &["--fail-on", "critical"]);
    r.expect_code(0);
    let report = r.json();
    let f = &of_rule(&report, "RUSTSEC-2099-0001")[0];
    assert_eq!(f["suppressed"]["by"], "advisory_ignore");
    assert_eq!(f["suppressed"]["reason"], "only in a build script");
    assert!(
        of_rule(&report, "RUSTSEC-2099-0005")[0]
            .get("suppressed")
            .is_none()
    );
    let n = notes(&report);
    assert!(n.contains("RUSTSEC-2099-0005 expired on 2000-01-01"), "{n}");
    assert!(n.contains("RUSTSEC-1999-9999 matches no finding"), "{n}");
    // An ignore without a reason is a config error.
    write(
        dir.path(),
        ".preflight.toml",
        "[[deps.ignore]]\nid = \"X\"\n",
    );
    let r = deps(dir.path(), ".", &[]);
    r.expect_code(2);
    assert!(r.stderr.contains("reason"), "{}", r.stderr);
    // So is a blank reason, and a date that does not exist.
    for (entry, says) in [
        ("reason = \"  \"", "reason"),
        ("reason = \"r\"\nexpires = \"2025-13-45\"", "expires"),
    ] {
        write(
            dir.path(),
            ".preflight.toml",
            format!("[[deps.ignore]]\nid = \"RUSTSEC-2099-0001\"\n{entry}\n"),
        );
        let r = deps(dir.path(), ".", &[]);
        r.expect_code(2);
        assert!(r.stderr.contains(says), "{}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    // A TOML date (unquoted) is as good as a string.
    write(
        dir.path(),
        ".preflight.toml",
        "[[deps.ignore]]\nid = \"CVE-2099-0001\"\nreason = \"build script only\"\nexpires = 2999-12-31\n",
    );
    let r = deps(dir.path(), ".", &[]);
    let report = r.json();
    assert!(
        of_rule(&report, "RUSTSEC-2099-0001")[0]
            .get("suppressed")
            .is_some()
    );
}

#[test]
fn sarif_has_a_rule_per_advisory_with_cvss_and_real_lines() {
    let root = manifest().join("testdata/lockfiles/cargo-v3");
    let mut args = vec!["deps", ".", "-f", "sarif"];
    let dbs = fixture_dbs();
    args.extend(dbs.iter().map(String::as_str));
    let r = run_in(&root, &args);
    r.expect_code(1);
    let sarif: Value = serde_json::from_str(&r.stdout).unwrap();
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "RUSTSEC-2099-0001")
        .unwrap();
    assert_eq!(rule["properties"]["security-severity"], "9.8");
    assert!(
        rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"vulnerability".into())
    );
    let res = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "RUSTSEC-2099-0001")
        .unwrap();
    let loc = &res["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "Cargo.lock");
    assert_eq!(
        loc["region"]["startLine"], 32,
        "the [[package]] line, not line 1"
    );
    let msg = res["message"]["text"].as_str().unwrap();
    assert!(
        msg.contains("fixture-vuln 1.0.0") && msg.contains("1.2.0"),
        "{msg}"
    );
    let schema = manifest().join("../shared/sarif/sarif-schema-2.1.0.json");
    match std::fs::read_to_string(&schema) {
        Ok(text) => {
            let schema: Value = serde_json::from_str(&text).unwrap();
            let v = jsonschema::validator_for(&schema).unwrap();
            let errors: Vec<String> = v.iter_errors(&sarif).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?}");
        }
        Err(_) => eprintln!(
            "SKIPPED: SARIF schema validation: {} absent",
            schema.display()
        ),
    }
}

#[test]
fn check_reports_secrets_and_dependencies_together() {
    let dir = tempdir();
    let lock = std::fs::read_to_string(testdata("lockfiles/cargo-v3/Cargo.lock")).unwrap();
    write(dir.path(), "Cargo.lock", &lock);
    write(
        dir.path(),
        "config.py",
        format!("TOKEN = \"{}\"\n", github_token(7)),
    );
    let mut args = vec!["check", ".", "--no-history", "-f", "json"];
    let dbs = fixture_dbs();
    args.extend(dbs.iter().map(String::as_str));
    let r = run_in(dir.path(), &args);
    r.expect_code(1);
    let report = r.json();
    let kinds: BTreeSet<&str> = findings(&report)
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["advisory", "secret"]));
    assert_eq!(report["stats"]["dep_audit"], true);
    assert!(report["stats"]["files"].as_u64().unwrap() >= 2);
    let text_args: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "-f" && *a != "json")
        .collect();
    let text = run_in(dir.path(), &text_args);
    assert!(
        text.stdout.contains("RUSTSEC-2099-0001") && text.stdout.contains("audited 7 package(s)"),
        "{}",
        text.stdout
    );
}

#[test]
fn db_update_clones_fast_forwards_and_survives_a_broken_remote() {
    let remote = TestRepo::new();
    let adv = std::fs::read_to_string(testdata(
        "advisory-db/rustsec/crates/fixture-vuln/RUSTSEC-2099-0001.md",
    ))
    .unwrap();
    remote.commit(
        "first advisory",
        &[("crates/fixture-vuln/RUSTSEC-2099-0001.md", &adv)],
    );
    let first = remote.head();
    let cache = tempdir();
    let dbdir = cache.path().join("dbs");
    let url = remote.path().display().to_string();
    let update = |url: &str| {
        let src = format!("rustsec={url}");
        run_in(
            cache.path(),
            &[
                "db",
                "update",
                "--dir",
                dbdir.to_str().unwrap(),
                "--source",
                &src,
            ],
        )
    };
    let r = update(&url);
    r.expect_code(0);
    assert!(
        r.stderr
            .contains(&format!("rustsec: cloned at {}", &first[..12])),
        "{}",
        r.stderr
    );
    let status = run_in(
        cache.path(),
        &[
            "db",
            "status",
            "--dir",
            dbdir.to_str().unwrap(),
            "-f",
            "json",
        ],
    );
    status.expect_code(0);
    let s: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(s[0]["commit"], first.as_str());
    assert_eq!(s[0]["layout"], "rustsec");
    assert_eq!(s[0]["stale"], true, "the fixture commit is dated 2024");

    // The cached database is the default for `deps`, and its age is a warning.
    let lockdir = tempdir();
    write(
        lockdir.path(),
        "Cargo.lock",
        std::fs::read_to_string(testdata("lockfiles/cargo-v1/Cargo.lock")).unwrap(),
    );
    let out = preflight()
        .current_dir(lockdir.path())
        .env("PREFLIGHT_DB_DIR", &dbdir)
        .args(["deps", ".", "-f", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rule_ids(&report), ["RUSTSEC-2099-0001"]);
    assert!(
        notes(&report).contains("advisory database rustsec is"),
        "{}",
        notes(&report)
    );

    // Fast-forward to a new commit with a second advisory.
    let adv2 = std::fs::read_to_string(testdata(
        "advisory-db/rustsec/crates/fixture-vuln/RUSTSEC-2099-0006.md",
    ))
    .unwrap();
    remote.commit(
        "second advisory",
        &[("crates/fixture-vuln/RUSTSEC-2099-0006.md", &adv2)],
    );
    let second = remote.head();
    let r = update(&url);
    r.expect_code(0);
    assert!(
        r.stderr
            .contains(&format!("updated {} -> {}", &first[..12], &second[..12])),
        "{}",
        r.stderr
    );
    assert!(
        dbdir
            .join("rustsec/crates/fixture-vuln/RUSTSEC-2099-0006.md")
            .exists()
    );
    let r = update(&url);
    r.expect_code(0);
    assert!(r.stderr.contains("up to date"), "{}", r.stderr);

    // A broken remote fails (exit 2) and leaves the database as it was: one
    // that does not exist, and one whose objects are gone.
    let r = update(&format!("{url}-does-not-exist"));
    r.expect_code(2);
    assert!(r.stderr.contains("rustsec"), "{}", r.stderr);
    let broken = cache.path().join("broken.git");
    remote.git_in(
        cache.path(),
        &["clone", "--bare", "-q", &url, broken.to_str().unwrap()],
    );
    for e in std::fs::read_dir(broken.join("objects")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "info" {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    let r = update(broken.to_str().unwrap());
    r.expect_code(2);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    let status = run_in(
        cache.path(),
        &[
            "db",
            "status",
            "--dir",
            dbdir.to_str().unwrap(),
            "-f",
            "json",
        ],
    );
    let s: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(s[0]["commit"], second.as_str());
    assert!(
        dbdir
            .join("rustsec/crates/fixture-vuln/RUSTSEC-2099-0006.md")
            .exists()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dbdir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary directory left behind: {leftovers:?}"
    );
}

#[test]
fn prepared_index_is_reused_and_follows_every_change_to_the_database() {
    let tmp = tempdir();
    let db = tmp.path().join("rustsec");
    let adv1 = std::fs::read_to_string(testdata(
        "advisory-db/rustsec/crates/fixture-vuln/RUSTSEC-2099-0001.md",
    ))
    .unwrap();
    write(&db, "crates/fixture-vuln/RUSTSEC-2099-0001.md", &adv1);
    write(
        tmp.path(),
        "proj/Cargo.lock",
        std::fs::read_to_string(testdata("lockfiles/cargo-v1/Cargo.lock")).unwrap(),
    );
    let cache = tmp.path().join("cache");
    let run = || -> (Run, Value) {
        let out = preflight()
            .current_dir(tmp.path().join("proj"))
            .env("PREFLIGHT_CACHE_DIR", &cache)
            .args(["deps", ".", "-f", "json", "--db", db.to_str().unwrap()])
            .output()
            .unwrap();
        let run = Run::from(out);
        let report = serde_json::from_str(&run.stdout).unwrap();
        (run, report)
    };
    let index_file = || {
        let files: Vec<PathBuf> = std::fs::read_dir(cache.join("index"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(files.len(), 1, "one index, no temporary file: {files:?}");
        let f = files[0].clone();
        let state = (
            std::fs::read(&f).unwrap(),
            f.metadata().unwrap().modified().unwrap(),
        );
        (f, state)
    };

    let (r, report) = run();
    r.expect_code(1);
    assert_eq!(rule_ids(&report), ["RUSTSEC-2099-0001"]);
    let (index, first) = index_file();
    // The second run reads the index and leaves it alone.
    let (_, report) = run();
    assert_eq!(rule_ids(&report), ["RUSTSEC-2099-0001"]);
    assert_eq!(index_file().1, first, "a current index is not rewritten");
    let status = preflight()
        .env("PREFLIGHT_CACHE_DIR", &cache)
        .args(["db", "status", "--db", db.to_str().unwrap(), "-f", "json"])
        .output()
        .unwrap();
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s[0]["indexed"], true, "{s}");

    // A new advisory file is seen at once.
    let adv6 = std::fs::read_to_string(testdata(
        "advisory-db/rustsec/crates/fixture-vuln/RUSTSEC-2099-0006.md",
    ))
    .unwrap();
    write(&db, "crates/fixture-vuln/RUSTSEC-2099-0006.md", &adv6);
    let (_, report) = run();
    assert_eq!(
        rule_ids(&report),
        ["RUSTSEC-2099-0001", "RUSTSEC-2099-0006"]
    );
    assert_ne!(index_file().1, first);

    // So is an edit in place: 1.0.0 is now patched for 0001.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(
        &db,
        "crates/fixture-vuln/RUSTSEC-2099-0001.md",
        adv1.replace(r#"patched = [">= 1.2.0"]"#, r#"patched = [">= 0.9.0"]"#),
    );
    let (_, report) = run();
    assert_eq!(rule_ids(&report), ["RUSTSEC-2099-0006"]);

    // A broken advisory is an error on every run, also when the index answers.
    write(
        &db,
        "crates/fixture-vuln/RUSTSEC-2099-0007.md",
        "no front matter",
    );
    for _ in 0..2 {
        let (r, report) = run();
        r.expect_code(2);
        assert!(r.stdout.contains("RUSTSEC-2099-0007.md"), "{}", r.stdout);
        assert_eq!(rule_ids(&report), ["RUSTSEC-2099-0006"]);
    }

    // A corrupt index is rebuilt, silently.
    std::fs::write(&index, "garbage").unwrap();
    let (r, report) = run();
    r.expect_code(2);
    assert!(!r.stderr.contains("index"), "{}", r.stderr);
    assert_eq!(rule_ids(&report), ["RUSTSEC-2099-0006"]);
    assert!(
        std::fs::read(&index)
            .unwrap()
            .starts_with(b"preflight-advisory-index")
    );
}

/// `db update` over HTTP (the transport the default RustSec and PyPA URLs use,
/// minus TLS) against `git http-backend`: clone, fast-forward, index prepared;
/// and an https:// remote that cannot be reached is a one-line error that
/// leaves the database as it was.
#[cfg(feature = "https")]
#[test]
fn db_update_over_http_clones_and_fast_forwards() {
    let served = tempdir();
    let remote = TestRepo::new();
    let adv1 = std::fs::read_to_string(testdata(
        "advisory-db/rustsec/crates/fixture-vuln/RUSTSEC-2099-0001.md",
    ))
    .unwrap();
    remote.commit(
        "one",
        &[("crates/fixture-vuln/RUSTSEC-2099-0001.md", &adv1)],
    );
    // Served as a bare repository, as a forge does.
    let bare = served.path().join("advisory-db.git");
    remote.git_in(
        served.path(),
        &[
            "clone",
            "--bare",
            "-q",
            remote.path().to_str().unwrap(),
            "advisory-db.git",
        ],
    );
    let server = crate::util::git_http::GitHttp::serve(served.path());
    let url = format!("{}/advisory-db.git", server.base);
    let cache = tempdir();
    let dbdir = cache.path().join("dbs");
    let update = |url: &str| {
        let out = preflight()
            .current_dir(cache.path())
            .env("PREFLIGHT_CACHE_DIR", cache.path().join("cache"))
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .args(["db", "update", "--dir", dbdir.to_str().unwrap()])
            .args(["--source", &format!("rustsec={url}")])
            .output()
            .unwrap();
        Run::from(out)
    };
    let r = update(&url);
    r.expect_code(0);
    let first = remote.head();
    assert!(
        r.stderr
            .contains(&format!("rustsec: cloned at {}", &first[..12])),
        "{}",
        r.stderr
    );
    let adv6 = std::fs::read_to_string(testdata(
        "advisory-db/rustsec/crates/fixture-vuln/RUSTSEC-2099-0006.md",
    ))
    .unwrap();
    remote.commit(
        "two",
        &[("crates/fixture-vuln/RUSTSEC-2099-0006.md", &adv6)],
    );
    remote.git(&["push", "-q", bare.to_str().unwrap(), "HEAD:refs/heads/main"]);
    let second = remote.head();
    let r = update(&url);
    r.expect_code(0);
    assert!(
        r.stderr
            .contains(&format!("updated {} -> {}", &first[..12], &second[..12])),
        "{}",
        r.stderr
    );
    let status = preflight()
        .env("PREFLIGHT_CACHE_DIR", cache.path().join("cache"))
        .args([
            "db",
            "status",
            "--dir",
            dbdir.to_str().unwrap(),
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s[0]["commit"], second.as_str());
    assert_eq!(s[0]["indexed"], true, "db update prepares the index: {s}");

    // Nothing listens on port 9 of 127.0.0.1: a one-line error, database kept.
    let r = update("https://127.0.0.1:9/rustsec/advisory-db.git");
    r.expect_code(2);
    let errors: Vec<&str> = r.stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(
        errors[0].contains("updating rustsec from https://127.0.0.1:9/"),
        "{}",
        r.stderr
    );
    assert!(
        dbdir
            .join("rustsec/crates/fixture-vuln/RUSTSEC-2099-0006.md")
            .exists()
    );
}

/// The real snapshots in ../shared/advisory-db, when present.
fn shared(rel: &str) -> Option<PathBuf> {
    let p = manifest().join("../shared/advisory-db").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} is absent", p.display());
        None
    }
}

/// A Cargo.lock with every crate of the RustSec snapshot at a few versions (about 2,700 packages).
fn every_crate_lockfile(rustsec: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(rustsec.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut s = String::from("version = 3\n");
    for n in &names {
        for v in ["0.1.0", "0.3.7", "1.0.0"] {
            s.push_str(&format!(
                "\n[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
            ));
        }
    }
    s
}

fn audit_ids(dir: &Path, db: &Path) -> BTreeSet<(String, String)> {
    let r = run_in(
        dir,
        &["deps", ".", "-f", "json", "--db", db.to_str().unwrap()],
    );
    let report = r.json();
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{}",
        r.stdout
    );
    findings(&report)
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                format!(
                    "{} {}",
                    f["advisory"]["package"].as_str().unwrap(),
                    f["advisory"]["version"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

#[test]
fn rustsec_native_and_osv_snapshots_agree_on_thousands_of_packages() {
    let (Some(native), Some(osv)) = (shared("rustsec"), shared("rustsec-osv")) else {
        return;
    };
    let dir = tempdir();
    write(dir.path(), "Cargo.lock", every_crate_lockfile(&native));
    let a = audit_ids(dir.path(), &native);
    let b = audit_ids(dir.path(), &osv);
    assert!(a.len() > 500, "{}", a.len());
    // Both exports come from the same advisories on different days (the OSV
    // branch was generated two hours earlier), so allow a handful of differences.
    let only_a: Vec<_> = a.difference(&b).collect();
    let only_b: Vec<_> = b.difference(&a).collect();
    assert!(
        only_a.len() + only_b.len() <= 5,
        "native only: {only_a:?}\nosv only: {only_b:?}"
    );
}

#[test]
fn pypa_snapshot_finds_known_django_advisories() {
    let Some(pypa) = shared("pypa") else { return };
    let dir = tempdir();
    write(
        dir.path(),
        "requirements.txt",
        "Django==3.2.0\nrequests==2.19.1\n",
    );
    let r = run_in(
        dir.path(),
        &["deps", ".", "-f", "json", "--db", pypa.to_str().unwrap()],
    );
    r.expect_code(1);
    let report = r.json();
    let ids = rule_ids(&report);
    assert!(
        ids.iter().filter(|i| i.starts_with("PYSEC-")).count() >= 5,
        "{ids:?}"
    );
    // requests 2.19.1: CVE-2018-18074 is PYSEC-2018-28.
    assert!(ids.iter().any(|i| i == "PYSEC-2018-28"), "{ids:?}");
}

/// Compare with cargo-audit on the same Cargo.lock and snapshot, when it is
/// installed (`cargo install cargo-audit --locked --no-default-features`; see
/// README): a lockfile with every advised crate, this project's own, and the
/// real lockfiles that crates ship in this machine's cargo registry.
#[test]
fn advisory_ids_match_cargo_audit() {
    let Some(native) = shared("rustsec") else {
        return;
    };
    let ok = std::process::Command::new("cargo")
        .args(["audit", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: cargo-audit is not installed (cargo install cargo-audit --locked --no-default-features)"
        );
        return;
    }
    let dir = tempdir();
    write(
        dir.path(),
        "every/Cargo.lock",
        every_crate_lockfile(&native),
    );
    let mut locks = vec![
        dir.path().join("every/Cargo.lock"),
        manifest().join("Cargo.lock"),
    ];
    locks.extend(registry_lockfiles(40));
    let mut compared = 0;
    let mut with_findings = 0;
    let mut most_packages = 0;
    for (i, lock) in locks.iter().enumerate() {
        // A copy in a directory of its own: nothing next to it (a crate's own
        // config files) can change either tool's answer.
        let lockdir = dir.path().join(format!("lock{i}"));
        std::fs::create_dir_all(&lockdir).unwrap();
        let text = std::fs::read_to_string(lock).unwrap();
        std::fs::write(lockdir.join("Cargo.lock"), &text).unwrap();
        let out = std::process::Command::new("cargo")
            .args(["audit", "--json", "--no-fetch", "--no-yanked", "--db"])
            .arg(&native)
            .arg("-f")
            .arg(lockdir.join("Cargo.lock"))
            .output()
            .unwrap();
        let Ok(v) = serde_json::from_slice::<Value>(&out.stdout) else {
            // cargo-audit cannot read it (e.g. a lockfile format it does not know): nothing to compare.
            eprintln!("cargo-audit could not audit {}", lock.display());
            continue;
        };
        let theirs: BTreeSet<(String, String)> = v["vulnerabilities"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["advisory"]["id"].as_str().unwrap().to_string(),
                    format!(
                        "{} {}",
                        x["package"]["name"].as_str().unwrap(),
                        x["package"]["version"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        let r = run_in(
            &lockdir,
            &[
                "deps",
                "Cargo.lock",
                "-f",
                "json",
                "--db",
                native.to_str().unwrap(),
            ],
        );
        let ours: BTreeSet<(String, String)> = findings(&r.json())
            .iter()
            .filter(|f| f["advisory"].get("informational").is_none())
            .map(|f| {
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    format!(
                        "{} {}",
                        f["advisory"]["package"].as_str().unwrap(),
                        f["advisory"]["version"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        assert_eq!(ours, theirs, "{}", lock.display());
        compared += 1;
        with_findings += usize::from(!ours.is_empty());
        if i == 0 {
            eprintln!(
                "every advised crate: {} findings, equal to cargo-audit's",
                ours.len()
            );
        }
        most_packages = most_packages.max(text.matches("[[package]]").count());
    }
    eprintln!(
        "compared {compared} lockfiles with cargo-audit ({with_findings} with vulnerabilities, largest {most_packages} packages)"
    );
    assert!(compared >= 2, "the generated and this project's lockfile");
    assert!(most_packages >= 300, "{most_packages}");
}

/// Up to `max` real Cargo.lock files that crates ship in their packages, from
/// the cargo registry's unpacked sources (spread over the sorted list).
fn registry_lockfiles(max: usize) -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry/src")) else {
        return Vec::new();
    };
    let mut all: Vec<PathBuf> = std::fs::read_dir(&src)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|krate| krate.path().join("Cargo.lock"))
        .filter(|p| p.is_file())
        .collect();
    all.sort();
    let step = all.len().div_ceil(max).max(1);
    all.into_iter().step_by(step).collect()
}

/// Never a silent pass: a `--db` with no advisories is an error, and packages
/// of an ecosystem no database covers are named in a warning.
#[test]
fn empty_databases_and_uncovered_ecosystems_are_never_silent() {
    let tmp = tempdir();
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    let npm = manifest().join("testdata/lockfiles/npm-v3");
    let empty = tmp.path().join("empty");
    let r = run_in(
        &npm,
        &["deps", ".", "-f", "json", "--db", empty.to_str().unwrap()],
    );
    r.expect_code(2);
    let report = r.json();
    assert!(
        report["errors"].to_string().contains("holds no advisories"),
        "{report}"
    );
    // RustSec and PyPA only: the npm packages are not audited, and the run says so.
    let rustsec = testdata("advisory-db/rustsec");
    let pypa = testdata("advisory-db/pypa");
    let r = run_in(
        &npm,
        &["deps", ".", "-f", "json", "--db", &rustsec, "--db", &pypa],
    );
    r.expect_code(0);
    let n = notes(&r.json());
    assert!(
        n.contains("no advisory database covers npm") && n.contains("package-lock.json"),
        "{n}"
    );
    // With an OSV database that has npm advisories, no such warning.
    let r = deps(&npm, ".", &[]);
    assert!(!notes(&r.json()).contains("covers npm"));
}

/// Informational advisories (unmaintained, unsound) are warnings: reported,
/// level `warning` in SARIF, but they fail the run only with --deny-warnings.
#[test]
fn informational_advisories_are_warnings() {
    let tmp = tempdir();
    write(
        tmp.path(),
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"fixture-unmaintained\"\nversion = \"0.1.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    );
    let rustsec = testdata("advisory-db/rustsec");
    let args = ["deps", ".", "-f", "sarif", "--db", &rustsec];
    let r = run_in(tmp.path(), &args);
    r.expect_code(0);
    let sarif = r.json();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "RUSTSEC-2099-0002");
    assert_eq!(result["level"], "warning");
    let rule = &sarif["runs"][0]["tool"]["driver"]["rules"][0];
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    let mut deny = args.to_vec();
    deny.push("--deny-warnings");
    run_in(tmp.path(), &deny).expect_code(1);
    // In text, the severity column says so.
    let r = run_in(tmp.path(), &["deps", ".", "--db", &rustsec]);
    assert!(
        r.stdout.contains("warning  RUSTSEC-2099-0002"),
        "{}",
        r.stdout
    );
}

/// A database that is not a git checkout is as old as its newest advisory.
#[test]
fn a_plain_database_is_as_old_as_its_newest_advisory() {
    let tmp = tempdir();
    let record = |modified: &str| {
        format!(
            r#"{{"id": "OSV-2099-AGE-1", "modified": "{modified}T00:00:00Z", "summary": "Fictional",
               "affected": [{{"package": {{"ecosystem": "npm", "name": "fixture-npm"}},
               "ranges": [{{"type": "SEMVER", "events": [{{"introduced": "0"}}, {{"fixed": "9.0.0"}}]}}]}}]}}"#
        )
    };
    write(tmp.path(), "old/OSV-2099-AGE-1.json", record("2001-02-03"));
    let old = tmp.path().join("old");
    let npm = manifest().join("testdata/lockfiles/npm-v3");
    let run = |extra: &[&str]| {
        let mut args = vec!["deps", ".", "-f", "json", "--db", old.to_str().unwrap()];
        args.extend(extra);
        notes(&run_in(&npm, &args).json())
    };
    let n = run(&[]);
    assert!(
        n.contains("days old (newest advisory 2001-02-03; older than 90)"),
        "{n}"
    );
    assert!(!run(&["--max-db-age", "100000"]).contains("days old"));
    // A fresh one: no warning.
    write(tmp.path(), "old/OSV-2099-AGE-1.json", record(&today()));
    assert!(!run(&[]).contains("days old"));
}

fn today() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// An osv.dev-style `all.zip` through the CLI: findings, the index on the
/// second run, and a broken record reported on both.
#[test]
fn osv_all_zip_through_the_cli() {
    use std::io::Write;
    let tmp = tempdir();
    let zpath = tmp.path().join("npm/all.zip");
    std::fs::create_dir_all(zpath.parent().unwrap()).unwrap();
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for f in std::fs::read_dir(testdata("advisory-db/osv"))
        .unwrap()
        .flatten()
    {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            w.start_file(name, opts).unwrap();
            w.write_all(&std::fs::read(f.path()).unwrap()).unwrap();
        }
    }
    w.start_file("OSV-BROKEN.json", opts).unwrap();
    w.write_all(b"{ not json").unwrap();
    w.finish().unwrap();
    let npm = manifest().join("testdata/lockfiles/npm-v3");
    for _ in 0..2 {
        let r = run_in(
            &npm,
            &["deps", ".", "-f", "json", "--db", zpath.to_str().unwrap()],
        );
        r.expect_code(2);
        let report = r.json();
        let ids = rule_ids(&report);
        assert!(ids.iter().any(|i| i == "OSV-2099-NPM-1"), "{ids:?}");
        assert!(
            report["errors"].to_string().contains("OSV-BROKEN.json"),
            "{}",
            report["errors"]
        );
    }
}

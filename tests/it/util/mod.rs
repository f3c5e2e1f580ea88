//! Helpers for the integration tests: run the `preflight` binary, read its JSON
//! report, build git repositories in temp dirs with a pinned environment, and
//! make fake secrets at runtime. Nothing here asserts behaviour of the scanner
//! beyond "the command ran"; the test modules do that.
//!
//! Secrets are generated from a seed, so no token-shaped literal is written
//! into `tests/` (see STYLE.md §6).

#![allow(dead_code)]

pub mod git_http;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// Environment variables that would point `git` (or gix) at another repository.
const GIT_LOCATION_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
];

/// Author of every generated commit.
pub const AUTHOR_NAME: &str = "Ada Author";
/// Author email of every generated commit.
pub const AUTHOR_EMAIL: &str = "ada@example.com";
/// Author and committer date of every generated commit (git input format).
pub const GIT_DATE: &str = "2024-01-02T03:04:05Z";
/// The same date as preflight reports it (RFC 3339 UTC).
pub const REPORT_DATE: &str = "2024-01-02T03:04:05Z";

/// A `preflight` command: `PREFLIGHT_TEST_BIN` if set (e.g. a release build),
/// else the binary cargo built for this test run.
pub fn preflight() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(preflight_bin());
    for v in GIT_LOCATION_VARS {
        cmd.env_remove(v);
    }
    cmd.env("NO_COLOR", "1");
    // Advisory indexes go to a cache of the test build, never the user's.
    cmd.env(
        "PREFLIGHT_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("preflight-cache"),
    );
    // A hang (symlink loop, lock) fails the test instead of blocking the suite.
    cmd.timeout(Duration::from_secs(300));
    cmd
}

/// Path of the binary under test: `PREFLIGHT_TEST_BIN` if set, else cargo's build.
pub fn preflight_bin() -> PathBuf {
    match std::env::var_os("PREFLIGHT_TEST_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => assert_cmd::cargo::cargo_bin("preflight"),
    }
}

/// Outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal or the timeout).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Stdout parsed as JSON (panics with both streams when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {}\n--- stdout\n{}\n--- stderr\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }

    /// Panic unless the exit code is `code`, showing both streams.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Run `preflight ARGS` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = preflight()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("spawn preflight");
    Run::from(out)
}

/// `preflight scan . -f json EXTRA...` run inside `dir`.
pub fn scan(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["scan", ".", "-f", "json"];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

/// [`scan`] and parse the report; returns (exit code, report).
pub fn scan_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let r = scan(dir, extra);
    let v = r.json();
    (r.code, v)
}

/// The report's findings.
pub fn findings(report: &Value) -> &Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("report has no findings array: {report:#}"))
}

/// Findings that count toward the exit code (not suppressed).
pub fn active(report: &Value) -> Vec<&Value> {
    findings(report)
        .iter()
        .filter(|f| f.get("suppressed").is_none())
        .collect()
}

/// Findings of one rule.
pub fn of_rule<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    findings(report)
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

/// The one finding of `rule` with a location at `path` (panics unless exactly one).
pub fn finding_at<'a>(report: &'a Value, rule: &str, path: &str) -> &'a Value {
    let hits: Vec<&Value> = of_rule(report, rule)
        .into_iter()
        .filter(|f| locations(f).iter().any(|l| l["path"] == path))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected one {rule} finding at {path}, got {}: {report:#}",
        hits.len()
    );
    hits[0]
}

/// A finding's locations.
pub fn locations(finding: &Value) -> &Vec<Value> {
    finding["locations"]
        .as_array()
        .unwrap_or_else(|| panic!("finding has no locations: {finding:#}"))
}

/// Sorted, deduplicated paths of a finding's locations.
pub fn paths(finding: &Value) -> Vec<String> {
    let mut p: Vec<String> = locations(finding)
        .iter()
        .map(|l| l["path"].as_str().expect("path is a string").to_string())
        .collect();
    p.sort();
    p.dedup();
    p
}

/// `provenance.source` of each location, in report order.
pub fn sources(finding: &Value) -> Vec<String> {
    locations(finding)
        .iter()
        .map(|l| {
            l["provenance"]["source"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

/// Locations whose provenance is a git commit.
pub fn git_locations(finding: &Value) -> Vec<&Value> {
    locations(finding)
        .iter()
        .filter(|l| l["provenance"]["source"] == "git")
        .collect()
}

/// Every rule id in the report, with multiplicity, sorted.
pub fn rule_ids(report: &Value) -> Vec<String> {
    let mut v: Vec<String> = findings(report)
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap_or("?").to_string())
        .collect();
    v.sort();
    v
}

/// Deterministic pseudo-random characters from `alphabet` (xorshift64*).
pub fn chars_from(seed: u64, n: usize, alphabet: &[u8]) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
            alphabet[(r >> 33) as usize % alphabet.len()] as char
        })
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fake GitHub classic PAT (`github.pat-classic`), distinct per seed.
pub fn github_token(seed: u64) -> String {
    format!("ghp_{}", chars_from(seed, 36, ALNUM))
}

/// A fake AWS access key id (`aws.access-key-id`), distinct per seed.
pub fn aws_key_id(seed: u64) -> String {
    format!(
        "AKIA{}",
        chars_from(seed, 16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    )
}

/// A human-made password that `generic.quoted-assignment` reports.
pub fn strong_password() -> String {
    format!("Gl4cier-{}-42", "Pa55w0rd")
}

/// A fresh temp dir.
pub fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("preflight-it-")
        .tempdir()
        .expect("create temp dir")
}

/// Write `content` at `root/rel`, creating parent directories.
pub fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).expect("create parent dirs");
    }
    fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

/// Make `root/deep/...` so deep that its full path is longer than PATH_MAX
/// (4096 on Linux): listing it fails even for root. The bottom holds `x.txt`
/// with `content`. Built as two shallow chains, the second renamed into the
/// first, so no single system call here needs a path over the limit.
pub fn make_unwalkable_dir(root: &Path, content: &str) {
    let name = "d".repeat(200);
    let chain: PathBuf = std::iter::repeat_n(name.as_str(), 12).collect();
    let top = root.join("deep").join(&chain);
    fs::create_dir_all(&top).expect("create first chain");
    let bottom = root.join("deep-tmp").join(&chain);
    fs::create_dir_all(&bottom).expect("create second chain");
    fs::write(bottom.join("x.txt"), content).expect("write x.txt");
    fs::rename(root.join("deep-tmp").join(&name), top.join(&name)).expect("join the chains");
    fs::remove_dir(root.join("deep-tmp")).expect("remove the empty temp dir");
}

/// A git repository in a temp dir, driven by the `git` binary in a pinned
/// environment so commit ids are the same on every machine and run.
pub struct TestRepo {
    tmp: TempDir,
    root: PathBuf,
}

impl TestRepo {
    /// `git init` a repository (branch `main`) in a new temp dir.
    pub fn new() -> TestRepo {
        let tmp = tempdir();
        let root = tmp.path().join("repo");
        fs::create_dir_all(&root).expect("create repo dir");
        fs::create_dir_all(tmp.path().join("home")).expect("create home dir");
        let repo = TestRepo { tmp, root };
        repo.git(&["init", "-q"]);
        repo
    }

    /// The work tree root.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The temp dir holding the repo (for clones and files kept out of the tree).
    pub fn scratch(&self) -> &Path {
        self.tmp.path()
    }

    /// A `git` command in `dir` with the pinned environment.
    pub fn git_cmd(&self, dir: &Path) -> StdCommand {
        let mut c = StdCommand::new("git");
        for v in GIT_LOCATION_VARS {
            c.env_remove(v);
        }
        c.current_dir(dir)
            .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
            .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
            .env("GIT_AUTHOR_DATE", GIT_DATE)
            .env("GIT_COMMITTER_NAME", "Cy Committer")
            .env("GIT_COMMITTER_EMAIL", "cy@example.com")
            .env("GIT_COMMITTER_DATE", GIT_DATE)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.tmp.path().join("home"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "core.autocrlf=false",
                "-c",
                "gc.auto=0",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
            ]);
        c
    }

    /// Run git in `dir`; panics on failure; returns trimmed stdout.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self
            .git_cmd(dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("spawn git {args:?}: {e}"));
        assert!(
            out.status.success(),
            "git {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Run git in the work tree.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.root, args)
    }

    /// Write a file in the work tree (not staged).
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        write(&self.root, rel, content);
    }

    /// Write `files`, stage them, commit everything staged with `msg`; returns the commit id.
    pub fn commit(&self, msg: &str, files: &[(&str, &str)]) -> String {
        for (p, c) in files {
            self.write(p, c);
        }
        if !files.is_empty() {
            let mut args = vec!["add", "--"];
            args.extend(files.iter().map(|(p, _)| *p));
            self.git(&args);
        }
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.head()
    }

    /// `git rm` paths (staged; commit with `commit(msg, &[])`).
    pub fn rm(&self, paths: &[&str]) {
        let mut args = vec!["rm", "-q", "--"];
        args.extend_from_slice(paths);
        self.git(&args);
    }

    /// Full id of HEAD.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Full id of the blob at `rev:path`.
    pub fn blob_id(&self, rev: &str, path: &str) -> String {
        self.git(&["rev-parse", &format!("{rev}:{path}")])
    }

    /// Path of the loose object file for `id`.
    pub fn loose_object(&self, id: &str) -> PathBuf {
        self.root.join(".git/objects").join(&id[..2]).join(&id[2..])
    }

    /// `git clone ARGS file://<repo> <scratch>/<name>`; returns the clone's path.
    pub fn clone_to(&self, name: &str, args: &[&str]) -> PathBuf {
        let dest = self.tmp.path().join(name);
        let url = format!("file://{}", self.root.display());
        let mut a = vec!["clone", "-q"];
        a.extend_from_slice(args);
        a.push(&url);
        let dest_s = dest.to_string_lossy().into_owned();
        a.push(&dest_s);
        self.git_in(self.tmp.path(), &a);
        dest
    }
}

//! The places preflight runs (issue 4): git hooks driven by real `git commit`
//! and `git push`, the `baseline` adoption workflow, `--range auto` under
//! GitHub Actions and GitLab CI variables, the progress bar on a terminal
//! (tmux) and not when piped, shell completions and `preflight init`.
//! Config errors are covered in suppression.rs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::*;

/// Outcome of a `git` command that may fail (a hook can refuse it).
struct GitRun {
    ok: bool,
    /// Stdout and stderr together (git sends hook output to stderr).
    output: String,
}

/// Run `git ARGS` in the work tree without panicking on failure.
fn git_try(repo: &TestRepo, args: &[&str]) -> GitRun {
    let out = repo
        .git_cmd(repo.path())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("spawn git {args:?}: {e}"));
    GitRun {
        ok: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn hook_path(repo: &TestRepo, name: &str) -> PathBuf {
    repo.path().join(".git/hooks").join(name)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// The marker line `hook install` writes (src/hook.rs `MARKER`).
const HOOK_MARKER: &str = "# installed by preflight hook install";

// ---------------------------------------------------------------------------
// hook install

#[test]
fn hook_install_writes_executable_pre_commit_calling_this_binary() {
    let repo = TestRepo::new();
    let r = run_in(repo.path(), &["hook", "install"]);
    r.expect_code(0);
    let hook = hook_path(&repo, "pre-commit");
    let text = read(&hook);
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
    assert!(text.contains(HOOK_MARKER), "{text}");
    assert!(text.contains("scan --staged"), "{text}");
    // The hook calls the binary that installed it, by absolute path.
    let exe = std::fs::canonicalize(preflight_bin()).unwrap();
    assert!(
        text.contains(&format!("'{}'", exe.display())),
        "hook does not call {}:\n{text}",
        exe.display()
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&hook).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "hook is not executable: {mode:o}");
    assert!(
        !hook_path(&repo, "pre-push").exists(),
        "pre-push written without --pre-push"
    );
    assert!(r.stderr.contains("pre-commit"), "{}", r.stderr);
}

#[test]
fn hook_install_refuses_foreign_hook_and_leaves_it_untouched() {
    let repo = TestRepo::new();
    let hook = hook_path(&repo, "pre-commit");
    let foreign = "#!/bin/sh\necho my own checks\n";
    write(repo.path(), ".git/hooks/pre-commit", foreign);
    let r = run_in(repo.path(), &["hook", "install"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("pre-commit") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(read(&hook), foreign);
    assert!(!hook_path(&repo, "pre-commit.preflight-backup").exists());
}

#[test]
fn hook_install_force_replaces_foreign_hook_and_keeps_a_backup() {
    let repo = TestRepo::new();
    let foreign = "#!/bin/sh\necho my own checks\n";
    write(repo.path(), ".git/hooks/pre-commit", foreign);
    run_in(repo.path(), &["hook", "install", "--force"]).expect_code(0);
    assert!(read(&hook_path(&repo, "pre-commit")).contains(HOOK_MARKER));
    assert_eq!(
        read(&hook_path(&repo, "pre-commit.preflight-backup")),
        foreign
    );
    // Our own hook is replaced on a second install without --force.
    run_in(repo.path(), &["hook", "install"]).expect_code(0);
}

#[test]
fn hook_install_pre_push_writes_both_hooks() {
    let repo = TestRepo::new();
    run_in(repo.path(), &["hook", "install", "--pre-push"]).expect_code(0);
    let text = read(&hook_path(&repo, "pre-push"));
    assert!(text.contains(HOOK_MARKER), "{text}");
    assert!(text.contains("--range"), "{text}");
    assert!(read(&hook_path(&repo, "pre-commit")).contains(HOOK_MARKER));
}

#[test]
fn hook_install_outside_a_repository_is_an_error() {
    let dir = tempdir();
    let r = run_in(dir.path(), &["hook", "install"]);
    r.expect_code(2);
    assert!(r.stderr.contains("not a git repository"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// A commit blocked by the pre-commit hook, then let through.

/// A repository with one clean commit, the pre-commit hook installed, and
/// `config.py` holding a fake GitHub token staged. Asserts `git commit` is refused.
struct Blocked {
    repo: TestRepo,
    token: String,
    head: String,
}

impl Blocked {
    fn new(seed: u64) -> Blocked {
        let repo = TestRepo::new();
        let head = repo.commit("initial", &[("README.md", "hello\n")]);
        run_in(repo.path(), &["hook", "install"]).expect_code(0);
        let token = github_token(seed);
        repo.write("config.py", format!("DEBUG = True\nTOKEN = \"{token}\"\n"));
        repo.git(&["add", "config.py"]);
        let b = Blocked { repo, token, head };
        let r = b.commit();
        assert!(
            !r.ok,
            "commit with a staged token went through:\n{}",
            r.output
        );
        assert_eq!(b.repo.head(), b.head, "HEAD moved although the hook failed");
        b
    }

    fn commit(&self) -> GitRun {
        git_try(&self.repo, &["commit", "-m", "add config"])
    }

    /// Commit and assert it went through with `config.py` in the new HEAD.
    fn assert_commit_passes(&self) {
        let r = self.commit();
        assert!(r.ok, "commit still blocked:\n{}", r.output);
        assert_ne!(self.repo.head(), self.head);
        self.repo.git(&["cat-file", "-e", "HEAD:config.py"]);
    }
}

#[test]
fn pre_commit_hook_blocks_staged_token_and_names_the_ways_out() {
    let b = Blocked::new(400);
    let r = b.commit();
    assert!(!r.ok);
    let out = &r.output;
    assert!(out.contains("github.pat-classic"), "{out}");
    assert!(out.contains("config.py\n  2:10 "), "{out}");
    // The three ways out: remove it, mark it, or record its fingerprint.
    assert!(out.contains("remove it from the file"), "{out}");
    assert!(out.contains("preflight:allow"), "{out}");
    assert!(out.contains(".preflightignore"), "{out}");
    // The secret itself is not echoed by default.
    assert!(!out.contains(&b.token), "{out}");
}

#[test]
fn blocked_commit_passes_with_inline_preflight_allow() {
    let b = Blocked::new(401);
    b.repo.write(
        "config.py",
        format!(
            "DEBUG = True\nTOKEN = \"{}\"  # preflight:allow revoked test token\n",
            b.token
        ),
    );
    b.repo.git(&["add", "config.py"]);
    b.assert_commit_passes();
}

#[test]
fn blocked_commit_passes_with_fingerprint_in_preflightignore() {
    let b = Blocked::new(402);
    let r = run_in(b.repo.path(), &["scan", "--staged", "-f", "json", "."]);
    r.expect_code(1);
    let report = r.json();
    let fp = finding_at(&report, "github.pat-classic", "config.py")["fingerprint"]
        .as_str()
        .expect("fingerprint is a string")
        .to_string();
    b.repo.write(
        ".preflightignore",
        format!("{fp} revoked on 2024-01-05, kept as a test fixture\n"),
    );
    b.repo.git(&["add", ".preflightignore"]);
    b.assert_commit_passes();
}

#[test]
fn blocked_commit_passes_after_removing_the_secret() {
    let b = Blocked::new(403);
    b.repo.write(
        "config.py",
        "import os\nDEBUG = True\nTOKEN = os.environ[\"GITHUB_TOKEN\"]\n",
    );
    b.repo.git(&["add", "config.py"]);
    b.assert_commit_passes();
}

#[test]
fn pre_commit_hook_blocks_commit_all_of_a_modified_tracked_file() {
    // `git commit -a` stages into a temporary index (GIT_INDEX_FILE); the hook
    // must scan that index, not the one on disk.
    let repo = TestRepo::new();
    let head = repo.commit("initial", &[("settings.py", "DEBUG = True\n")]);
    run_in(repo.path(), &["hook", "install"]).expect_code(0);
    repo.write(
        "settings.py",
        format!("DEBUG = True\nTOKEN = \"{}\"\n", github_token(404)),
    );
    let r = git_try(&repo, &["commit", "-a", "-m", "tweak settings"]);
    assert!(!r.ok, "commit -a with a token went through:\n{}", r.output);
    assert!(r.output.contains("settings.py"), "{}", r.output);
    assert_eq!(repo.head(), head);
}

#[test]
fn pre_push_hook_blocks_new_commits_with_a_token() {
    let repo = TestRepo::new();
    repo.commit("initial", &[("README.md", "hello\n")]);
    let remote = repo.scratch().join("remote.git");
    repo.git_in(
        repo.scratch(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    repo.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    run_in(repo.path(), &["hook", "install", "--pre-push"]).expect_code(0);

    // A new branch without secrets is pushed.
    let r = git_try(&repo, &["push", "-q", "origin", "main"]);
    assert!(r.ok, "clean push refused:\n{}", r.output);
    let pushed = repo.head();

    // A later commit with a token (the pre-commit hook skipped) is refused.
    repo.write("deploy.sh", format!("export GH={}\n", github_token(405)));
    repo.git(&["add", "deploy.sh"]);
    repo.git(&["commit", "-q", "--no-verify", "-m", "deploy script"]);
    let r = git_try(&repo, &["push", "-q", "origin", "main"]);
    assert!(!r.ok, "push of a token went through:\n{}", r.output);
    assert!(
        r.output.contains("github.pat-classic") && r.output.contains("deploy.sh"),
        "{}",
        r.output
    );
    let remote_main = repo.git_in(
        repo.scratch(),
        &["--git-dir", remote.to_str().unwrap(), "rev-parse", "main"],
    );
    assert_eq!(remote_main, pushed);

    // So is a new branch carrying it.
    let r = git_try(&repo, &["push", "-q", "origin", "HEAD:refs/heads/feature"]);
    assert!(
        !r.ok,
        "push of a new branch with a token went through:\n{}",
        r.output
    );
    assert!(r.output.contains("deploy.sh"), "{}", r.output);
}

// ---------------------------------------------------------------------------
// Baseline: adopt preflight on a tree that already has findings.

/// A directory with one secret and its `preflight baseline` kept outside the tree.
struct BaselineRun {
    tree: tempfile::TempDir,
    out: tempfile::TempDir,
    token: String,
    old_fp: String,
}

impl BaselineRun {
    fn new() -> BaselineRun {
        let tree = tempdir();
        let out = tempdir();
        let token = github_token(410);
        write(tree.path(), "old.env", format!("GH_TOKEN={token}\n"));
        let b = out.path().join("baseline.json");
        let r = run_in(tree.path(), &["baseline", ".", "-o", b.to_str().unwrap()]);
        r.expect_code(0);
        assert!(r.stderr.contains("wrote 1 finding(s)"), "{}", r.stderr);
        let doc: Value = serde_json::from_str(&read(&b)).expect("baseline is JSON");
        let old_fp = doc["findings"][0]["fingerprint"]
            .as_str()
            .unwrap_or_else(|| panic!("no fingerprint in {doc:#}"))
            .to_string();
        BaselineRun {
            tree,
            out,
            token,
            old_fp,
        }
    }

    fn baseline(&self) -> PathBuf {
        self.out.path().join("baseline.json")
    }

    fn rescan(&self) -> (i32, Value) {
        scan_json(
            self.tree.path(),
            &["--baseline", self.baseline().to_str().unwrap()],
        )
    }
}

#[test]
fn baseline_file_holds_fingerprints_and_no_secret() {
    let b = BaselineRun::new();
    let text = read(&b.baseline());
    assert!(!text.contains(&b.token), "{text}");
    // Not even a long piece of it.
    assert!(!text.contains(&b.token[8..24]), "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["kind"], "preflight-baseline");
    assert_eq!(doc["version"], 1);
    let f = &doc["findings"][0];
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(f["rule_id"], "github.pat-classic");
    assert_eq!(f["locations"][0]["path"], "old.env");
    let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["fingerprint", "locations", "rule_id"], "{f:#}");
}

#[test]
fn baseline_rescan_has_no_active_findings() {
    let b = BaselineRun::new();
    let (code, report) = b.rescan();
    assert_eq!(code, 0, "{report:#}");
    assert!(active(&report).is_empty(), "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "old.env");
    assert_eq!(f["fingerprint"], b.old_fp.as_str());
    assert_eq!(f["suppressed"], json!({"by": "baseline"}));
    assert_eq!(report["stale"], json!([]));
}

#[test]
fn baseline_rescan_after_adding_a_secret_has_exactly_one_active_finding() {
    let b = BaselineRun::new();
    write(
        b.tree.path(),
        "new.py",
        format!("KEY = \"{}\"\n", aws_key_id(411)),
    );
    let (code, report) = b.rescan();
    assert_eq!(code, 1, "{report:#}");
    let act = active(&report);
    assert_eq!(act.len(), 1, "{report:#}");
    assert_eq!(paths(act[0]), ["new.py"]);
    assert_eq!(report["stale"], json!([]));
}

#[test]
fn baseline_entry_of_fixed_secret_is_reported_stale() {
    let b = BaselineRun::new();
    write(b.tree.path(), "old.env", "GH_TOKEN=${GH_TOKEN}\n");
    let (code, report) = b.rescan();
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(
        report["stale"],
        json!([{"source": "baseline", "fingerprint": b.old_fp}])
    );
}

#[test]
fn baseline_of_git_history_fails_only_on_a_new_commit() {
    let repo = TestRepo::new();
    repo.commit(
        "add key",
        &[("a.env", &format!("GH_TOKEN={}\n", github_token(412)))],
    );
    repo.rm(&["a.env"]);
    repo.commit("remove key", &[]);
    let b = repo.scratch().join("baseline.json");
    let b_s = b.to_str().unwrap();
    run_in(repo.path(), &["baseline", ".", "-o", b_s]).expect_code(0);
    let (code, report) = scan_json(repo.path(), &["--baseline", b_s]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");

    repo.commit(
        "add another",
        &[("b.env", &format!("GH_TOKEN={}\n", github_token(413)))],
    );
    let (code, report) = scan_json(repo.path(), &["--baseline", b_s]);
    assert_eq!(code, 1, "{report:#}");
    let act = active(&report);
    assert_eq!(act.len(), 1, "{report:#}");
    assert_eq!(paths(act[0]), ["b.env"]);
}

// ---------------------------------------------------------------------------
// --range auto from CI variables.

/// Three commits, each adding one token file: base.txt, mid.txt, top.txt.
struct CiRepo {
    repo: TestRepo,
    c1: String,
    c2: String,
    c3: String,
}

impl CiRepo {
    fn new() -> CiRepo {
        let repo = TestRepo::new();
        let c1 = repo.commit(
            "base",
            &[("base.txt", &format!("t={}\n", github_token(420)))],
        );
        let c2 = repo.commit("mid", &[("mid.txt", &format!("t={}\n", github_token(421)))]);
        let c3 = repo.commit("top", &[("top.txt", &format!("t={}\n", github_token(422)))]);
        CiRepo { repo, c1, c2, c3 }
    }

    /// `preflight scan . -f json --range auto` with only `vars` as CI variables.
    fn scan(&self, vars: &[(&str, &str)]) -> Run {
        let mut cmd = preflight();
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("GITHUB_") || k.starts_with("GITLAB_") || k.starts_with("CI_") {
                cmd.env_remove(k.as_ref());
            }
        }
        cmd.env_remove("GITLAB_CI");
        let out = cmd
            .current_dir(self.repo.path())
            .args(["scan", ".", "-f", "json", "--range", "auto"])
            .envs(vars.iter().copied())
            .output()
            .expect("spawn preflight");
        Run::from(out)
    }

    /// Scan with `vars`; assert exit 1, the files with findings, and a note
    /// naming how the range was found.
    fn assert_scans(&self, vars: &[(&str, &str)], files: &[&str], why: &str) {
        let r = self.scan(vars);
        r.expect_code(1);
        let report = r.json();
        let mut got: Vec<String> = findings(&report).iter().flat_map(paths).collect();
        got.sort();
        assert_eq!(got, files, "{report:#}");
        let notes = report["notes"].as_array().unwrap();
        assert!(
            notes.iter().any(|n| {
                let n = n.as_str().unwrap_or_default();
                n.starts_with("--range auto:") && n.contains(why)
            }),
            "no --range auto note containing {why:?}: {notes:#?}"
        );
    }

    fn event_file(&self, before: &str, after: &str) -> String {
        let p = self.repo.scratch().join("event.json");
        std::fs::write(
            &p,
            json!({"ref": "refs/heads/main", "before": before, "after": after}).to_string(),
        )
        .unwrap();
        p.to_string_lossy().into_owned()
    }
}

const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

#[test]
fn range_auto_github_pull_request_scans_commits_since_origin_base() {
    let ci = CiRepo::new();
    ci.repo
        .git(&["update-ref", "refs/remotes/origin/main", &ci.c1]);
    ci.assert_scans(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_BASE_REF", "main"),
            ("GITHUB_HEAD_REF", "feature"),
        ],
        &["mid.txt", "top.txt"],
        "GitHub pull request into main",
    );
}

#[test]
fn range_auto_github_push_scans_before_to_after() {
    let ci = CiRepo::new();
    let ev = ci.event_file(&ci.c2, &ci.c3);
    ci.assert_scans(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", &ev),
            ("GITHUB_SHA", &ci.c3),
        ],
        &["top.txt"],
        "GitHub push",
    );
}

#[test]
fn range_auto_github_push_of_new_branch_scans_that_one_commit() {
    let ci = CiRepo::new();
    let ev = ci.event_file(ZERO_SHA, &ci.c2);
    ci.assert_scans(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", &ev),
            ("GITHUB_SHA", &ci.c2),
        ],
        &["mid.txt"],
        "without a previous commit",
    );
}

#[test]
fn range_auto_gitlab_merge_request_scans_diff_base_to_commit() {
    let ci = CiRepo::new();
    ci.assert_scans(
        &[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "merge_request_event"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", &ci.c1),
            ("CI_COMMIT_SHA", &ci.c2),
        ],
        &["mid.txt"],
        "GitLab merge request",
    );
}

#[test]
fn range_auto_gitlab_push_scans_before_to_commit() {
    let ci = CiRepo::new();
    ci.assert_scans(
        &[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_BEFORE_SHA", &ci.c1),
            ("CI_COMMIT_SHA", &ci.c3),
        ],
        &["mid.txt", "top.txt"],
        "GitLab push",
    );
}

#[test]
fn range_auto_gitlab_push_of_new_branch_scans_that_one_commit() {
    let ci = CiRepo::new();
    ci.assert_scans(
        &[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_BEFORE_SHA", ZERO_SHA),
            ("CI_COMMIT_SHA", &ci.c3),
        ],
        &["top.txt"],
        "without a previous commit",
    );
}

#[test]
fn range_auto_without_ci_variables_is_a_usage_error() {
    let ci = CiRepo::new();
    let r = ci.scan(&[]);
    r.expect_code(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("--range"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------
// Progress bar: drawn on a terminal, absent when stderr is piped.

/// A repository whose history is one pack of `n` distinct text blobs (written
/// with `git fast-import`), so the history pass takes a visible while.
fn repo_with_packed_blobs(n: usize) -> TestRepo {
    let repo = TestRepo::new();
    let mut stream = Vec::new();
    stream.extend_from_slice(
        b"commit refs/heads/main\ncommitter Cy Committer <cy@example.com> 1704164645 +0000\ndata 10\nmany blobs\n",
    );
    let filler = "the quick brown fox jumps over the lazy dog 0123456789\n".repeat(150);
    for i in 0..n {
        let body = format!(
            "file {i} {}\n{filler}",
            chars_from(i as u64, 40, b"abcdefgh")
        );
        stream.extend_from_slice(
            format!(
                "M 100644 inline d{}/f{i:05}.txt\ndata {}\n",
                i % 50,
                body.len()
            )
            .as_bytes(),
        );
        stream.extend_from_slice(body.as_bytes());
        stream.push(b'\n');
    }
    let mut child = repo
        .git_cmd(repo.path())
        .args(["fast-import", "--quiet"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn git fast-import");
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    repo
}

/// Lines of a progress bar as src/progress.rs draws them: `history <spinner> N blobs ...`.
fn bar_lines(text: &str) -> Vec<&str> {
    text.split(['\n', '\r'])
        .map(|l| l.trim_start_matches("\x1b[2K"))
        .filter(|l| l.starts_with("history ") && l.contains(" blobs"))
        .collect()
}

/// A tmux server on its own socket, killed on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn cmd(&self) -> StdCommand {
        let mut c = StdCommand::new("tmux");
        c.env_remove("TMUX")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"]);
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("spawn tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// What a terminal showed while `preflight scan --history-only EXTRA` ran in it.
struct OnTerminal {
    /// Every byte the program wrote to the terminal (tmux `pipe-pane`).
    raw: String,
    /// Bar lines seen on screen while the scan ran (polled `capture-pane`).
    seen: Vec<String>,
    /// The screen after the scan ended.
    after: String,
    /// The JSON report (written to a file; only stderr goes to the terminal).
    report: Value,
}

/// Run the scan in a detached 120x30 tmux session; `None` when tmux is absent.
fn scan_on_terminal(repo: &TestRepo, extra: &[&str]) -> Option<OnTerminal> {
    let have_tmux = StdCommand::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_tmux {
        eprintln!("skipped: tmux is not installed (the progress bar needs a terminal)");
        return None;
    }
    let s = repo.scratch();
    let (go, log, done, out) = (
        s.join("go"),
        s.join("pane.log"),
        s.join("done"),
        s.join("report.json"),
    );
    let q = |p: &Path| shell_quote(&p.to_string_lossy());
    let extra: Vec<String> = extra.iter().map(|a| shell_quote(a)).collect();
    // The scan waits for `go`, so the pane's output is logged from its first byte.
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.02; done; {exe} scan {dir} --history-only -f json -o {out} {extra}; echo \"preflight-exit=$?\" > {done}; sleep 60",
        go = q(&go),
        exe = q(&preflight_bin()),
        dir = q(repo.path()),
        out = q(&out),
        extra = extra.join(" "),
        done = q(&done),
    );
    let tmux = Tmux {
        socket: s.join("tmux.sock"),
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    tmux.run(&["pipe-pane", "-o", &format!("cat >> {}", q(&log))]);
    std::fs::write(&go, "").unwrap();

    // Watch the screen while the scan runs (up to 20 s on a loaded machine).
    let started = Instant::now();
    let mut seen = Vec::new();
    while !done.exists() && started.elapsed() < Duration::from_secs(20) {
        let screen = tmux.run(&["capture-pane", "-p"]);
        seen.extend(bar_lines(&screen).into_iter().map(str::to_string));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(done.exists(), "scan did not finish in 20 s");
    assert_eq!(read(&done).trim(), "preflight-exit=0");
    // Let pipe-pane flush the last bytes.
    std::thread::sleep(Duration::from_millis(200));
    let after = tmux.run(&["capture-pane", "-p"]);
    let raw = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
    let report = serde_json::from_str(&read(&out)).expect("report is JSON");
    Some(OnTerminal {
        raw,
        seen,
        after,
        report,
    })
}

#[test]
fn progress_bar_is_drawn_on_a_terminal_and_cleared_at_the_end() {
    let repo = repo_with_packed_blobs(4000);
    let Some(t) = scan_on_terminal(&repo, &[]) else {
        return;
    };
    let raw = &t.raw;
    assert_eq!(t.report["stats"]["history_blobs"], 4000);
    let took = &t.report["stats"]["elapsed_ms"];
    // Everything written to the terminal: the bar was drawn, and redrawn in place.
    assert!(
        !bar_lines(raw).is_empty(),
        "no progress bar reached the terminal; raw output:\n{raw:?}"
    );
    assert!(
        raw.contains("\r\x1b[2K"),
        "bar not redrawn in place: {raw:?}"
    );
    // It was on screen while the scan ran (scan took {took} ms) ...
    assert!(
        !t.seen.is_empty(),
        "the bar never showed on screen during a {took} ms scan; raw output:\n{raw:?}"
    );
    // ... and is gone when the scan ends.
    assert!(
        bar_lines(&t.after).is_empty(),
        "bar left on screen:\n{}",
        t.after
    );
}

#[test]
fn progress_bar_is_not_drawn_on_a_terminal_with_quiet() {
    let repo = repo_with_packed_blobs(1000);
    let Some(t) = scan_on_terminal(&repo, &["--quiet"]) else {
        return;
    };
    assert_eq!(t.report["stats"]["history_blobs"], 1000);
    assert!(t.seen.is_empty(), "{:?}", t.seen);
    assert!(
        t.raw.is_empty(),
        "--quiet wrote to the terminal: {:?}",
        t.raw
    );
}

#[test]
fn progress_bar_is_not_drawn_when_stderr_is_piped() {
    let repo = repo_with_packed_blobs(300);
    let r = run_in(repo.path(), &["scan", ".", "--history-only", "-f", "json"]);
    r.expect_code(0);
    assert!(
        !r.stderr.contains('\x1b'),
        "escape in stderr: {:?}",
        r.stderr
    );
    assert!(
        !r.stderr.contains('\r'),
        "carriage return in stderr: {:?}",
        r.stderr
    );
    assert!(bar_lines(&r.stderr).is_empty(), "{:?}", r.stderr);
    assert_eq!(r.json()["stats"]["history_blobs"], 300);
}

// ---------------------------------------------------------------------------
// First run: completions and init.

#[test]
fn completions_bash_prints_a_script_with_subcommands() {
    let dir = tempdir();
    let r = run_in(dir.path(), &["completions", "bash"]);
    r.expect_code(0);
    assert!(r.stdout.contains("complete -F"), "{}", r.stdout);
    for word in ["preflight", "scan", "baseline", "hook", "--staged"] {
        assert!(
            r.stdout.contains(word),
            "no {word:?} in the bash completions"
        );
    }
    for shell in ["zsh", "fish"] {
        let r = run_in(dir.path(), &["completions", shell]);
        r.expect_code(0);
        assert!(r.stdout.contains("scan"), "{shell}: {}", r.stdout);
    }
}

#[test]
fn completions_for_an_unknown_shell_is_a_usage_error() {
    let dir = tempdir();
    run_in(dir.path(), &["completions", "tcsh"]).expect_code(2);
}

#[test]
fn init_writes_a_commented_config_that_scan_accepts() {
    let dir = tempdir();
    let r = run_in(dir.path(), &["init"]);
    r.expect_code(0);
    assert!(r.stderr.contains(".preflight.toml"), "{}", r.stderr);
    let text = read(&dir.path().join(".preflight.toml"));
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() >= 5,
        "{text}"
    );
    // The scan reads it (a bad config is exit 2) and still finds secrets.
    write(dir.path(), "a.txt", format!("t={}\n", github_token(430)));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(active(&report).len(), 1, "{report:#}");
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .all(|n| !n.as_str().unwrap().contains(".preflight.toml")),
        "{notes:#?}"
    );
    let explicit = dir.path().join(".preflight.toml");
    let (code, _) = scan_json(dir.path(), &["--config", explicit.to_str().unwrap()]);
    assert_eq!(code, 1);
}

#[test]
fn init_twice_without_force_is_refused_and_keeps_the_file() {
    let dir = tempdir();
    run_in(dir.path(), &["init"]).expect_code(0);
    let cfg = dir.path().join(".preflight.toml");
    std::fs::write(&cfg, "[rules]\ndisable = [\"github.pat-classic\"]\n").unwrap();
    let r = run_in(dir.path(), &["init"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("already exists") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(read(&cfg), "[rules]\ndisable = [\"github.pat-classic\"]\n");
    run_in(dir.path(), &["init", "--force"]).expect_code(0);
    assert!(read(&cfg).starts_with("# preflight configuration"));
}

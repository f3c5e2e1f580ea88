//! Git history scans of generated repositories: deleted, branch-only,
//! tag-only, renamed and merged secrets; shallow and bare clones; `--range`,
//! `--since`, `--branch` and `--staged`; corrupt objects; provenance fields.

use serde_json::{Value, json};

use crate::util::*;

/// Assert a git provenance: every field present and pinned by the test repo.
fn assert_git_provenance(loc: &Value, commit: &str, summary: &str, in_head: bool) {
    let p = &loc["provenance"];
    assert_eq!(p["source"], "git", "{loc:#}");
    assert_eq!(p["commit"], commit, "{loc:#}");
    assert_eq!(p["author"], AUTHOR_NAME, "{loc:#}");
    assert_eq!(p["email"], AUTHOR_EMAIL, "{loc:#}");
    assert_eq!(p["date"], REPORT_DATE, "{loc:#}");
    assert_eq!(p["summary"], summary, "{loc:#}");
    assert_eq!(p["in_head"], in_head, "{loc:#}");
    assert!(p["refs"].is_array(), "{loc:#}");
    let unknown: Vec<&String> = p
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !PROVENANCE_KEYS.contains(&k.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "unexpected provenance fields: {unknown:?}"
    );
    if in_head {
        assert!(
            p.get("removed_in").is_none(),
            "in HEAD yet removed: {loc:#}"
        );
    }
}

/// Keys a git provenance may have (`removed_in` only when the blob left the path).
const PROVENANCE_KEYS: &[&str] = &[
    "source",
    "commit",
    "author",
    "email",
    "date",
    "summary",
    "refs",
    "in_head",
    "removed_in",
];

fn refs(loc: &Value) -> Vec<String> {
    loc["provenance"]["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn history_reports_secret_in_file_deleted_later_with_adding_commit() {
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    let token = github_token(400);
    let add = repo.commit(
        "add deploy key",
        &[("deploy/key.txt", format!("line\ntoken={token}\n").as_str())],
    );
    repo.rm(&["deploy/key.txt"]);
    repo.commit("remove deploy key", &[]);

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(f["rule_id"], "github.pat-classic");
    let locs = locations(f);
    assert_eq!(locs.len(), 1, "{f:#}");
    assert_eq!(locs[0]["path"], "deploy/key.txt");
    assert_eq!(locs[0]["start"], json!({"line": 2, "column": 7}));
    assert_git_provenance(&locs[0], &add, "add deploy key", false);
    assert!(refs(&locs[0]).contains(&"refs/heads/main".to_string()));
    assert_eq!(report["stats"]["commits"], 3);
}

#[test]
fn history_reports_secret_removed_from_a_file_that_still_exists() {
    let repo = TestRepo::new();
    let token = github_token(401);
    let add = repo.commit(
        "configure",
        &[("settings.ini", format!("[gh]\ntoken = {token}\n").as_str())],
    );
    repo.commit(
        "read token from env",
        &[("settings.ini", "[gh]\ntoken = ${GH_TOKEN}\n")],
    );

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "settings.ini");
    let locs = locations(f);
    assert_eq!(locs.len(), 1, "the worktree no longer has it: {f:#}");
    assert_git_provenance(&locs[0], &add, "configure", false);
}

#[test]
fn history_secret_still_in_head_is_one_finding_with_file_and_git_locations() {
    let repo = TestRepo::new();
    let token = github_token(402);
    let add = repo.commit("add", &[("a.txt", format!("t={token}\n").as_str())]);
    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(sources(f), ["file", "git"], "worktree locations sort first");
    assert_eq!(locations(f)[0]["provenance"], json!({"source": "file"}));
    assert_git_provenance(&locations(f)[1], &add, "add", true);

    // --history-only drops the worktree location, --no-history the git one.
    let (_, report) = scan_json(repo.path(), &["--history-only"]);
    assert_eq!(sources(&findings(&report)[0]), ["git"]);
    let (_, report) = scan_json(repo.path(), &["--no-history"]);
    assert_eq!(sources(&findings(&report)[0]), ["file"]);
    assert_eq!(report["stats"]["commits"], 0);
}

#[test]
fn history_reports_secret_only_on_a_side_branch() {
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    repo.git(&["checkout", "-q", "-b", "feature/x"]);
    let token = github_token(403);
    let add = repo.commit("wip", &[("wip.txt", format!("t={token}\n").as_str())]);
    repo.git(&["checkout", "-q", "main"]);

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "wip.txt");
    let locs = locations(f);
    assert_eq!(locs.len(), 1);
    assert_git_provenance(&locs[0], &add, "wip", false);
    assert_eq!(refs(&locs[0]), ["refs/heads/feature/x"]);

    // --branch limits the history to the named refs.
    let (code, report) = scan_json(repo.path(), &["--branch", "main"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    let (code, _) = scan_json(repo.path(), &["--branch", "feature/x"]);
    assert_eq!(code, 1);
}

#[test]
fn history_reports_secret_only_in_a_tag_on_no_branch() {
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    repo.git(&["checkout", "-q", "-b", "release-tmp"]);
    let token = github_token(404);
    let add = repo.commit(
        "release build",
        &[("dist/config.js", format!("var t = \"{token}\";\n").as_str())],
    );
    repo.git(&["tag", "-a", "-m", "v1", "v1.0.0"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "release-tmp"]);

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "dist/config.js");
    let locs = locations(f);
    assert_eq!(locs.len(), 1);
    assert_git_provenance(&locs[0], &add, "release build", false);
    assert_eq!(refs(&locs[0]), ["refs/tags/v1.0.0"]);
}

#[test]
fn history_renamed_file_is_one_finding_with_both_paths() {
    let repo = TestRepo::new();
    let token = github_token(405);
    let add = repo.commit("add", &[("old/name.txt", format!("t={token}\n").as_str())]);
    repo.git(&["mv", "old/name.txt", "new-name.txt"]);
    let mv = repo.commit("rename", &[]);

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(paths(f), ["new-name.txt", "old/name.txt"]);
    let git = git_locations(f);
    assert_eq!(git.len(), 2, "{f:#}");
    for l in git {
        if l["path"] == "old/name.txt" {
            assert_git_provenance(l, &add, "add", false);
        } else {
            assert_git_provenance(l, &mv, "rename", true);
        }
    }
    assert_eq!(sources(f).iter().filter(|s| *s == "file").count(), 1);
}

#[test]
fn history_env_file_added_then_removed_fires_dotenv() {
    let repo = TestRepo::new();
    let env = format!(
        "API_KEY={}\nSTRIPE_SECRET={}\nNODE_ENV=production\n",
        chars_from(406, 32, b"abcdef0123456789"),
        chars_from(
            407,
            24,
            b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
        )
    );
    let add = repo.commit("add env", &[(".env", env.as_str())]);
    repo.rm(&[".env"]);
    repo.commit("oops, remove env", &[]);

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "dotenv.file", ".env");
    assert_eq!(f["keys"], json!(["API_KEY", "STRIPE_SECRET"]));
    let locs = locations(f);
    assert_eq!(locs.len(), 1);
    assert_git_provenance(&locs[0], &add, "add env", false);
}

#[test]
fn history_same_secret_in_50_files_is_one_finding_with_50_locations() {
    let repo = TestRepo::new();
    let content = format!("token: {}\n", github_token(408));
    let files: Vec<(String, &str)> = (0..50)
        .map(|i| (format!("svc{i:02}/config.yml"), content.as_str()))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let add = repo.commit("fan out", &refs);

    let (code, report) = scan_json(repo.path(), &["--history-only"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = &findings(&report)[0];
    let locs = locations(f);
    assert_eq!(locs.len(), 50);
    assert_eq!(paths(f).len(), 50);
    for l in locs {
        assert_git_provenance(l, &add, "fan out", true);
    }
    // One blob, scanned once.
    assert_eq!(report["stats"]["history_blobs"], 1);

    // With the worktree as well: still one finding, 50 more locations.
    let (_, report) = scan_json(repo.path(), &[]);
    assert_eq!(findings(&report).len(), 1);
    assert_eq!(locations(&findings(&report)[0]).len(), 100);
}

#[test]
fn history_secret_from_merged_branch_keeps_its_branch_commit() {
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let token = github_token(409);
    let feat = repo.commit(
        "feature work",
        &[("feat.txt", format!("t={token}\n").as_str())],
    );
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("main work", &[("main.txt", "hello\n")]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    let merge = repo.head();
    assert_ne!(merge, feat);

    let (code, report) = scan_json(repo.path(), &["--history-only"]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "feat.txt");
    let locs = locations(f);
    assert_eq!(locs.len(), 1, "{f:#}");
    assert_git_provenance(&locs[0], &feat, "feature work", true);
    let r = refs(&locs[0]);
    assert!(r.contains(&"refs/heads/main".to_string()), "{r:?}");
    assert!(r.contains(&"refs/heads/feature".to_string()), "{r:?}");
}

#[test]
fn history_secret_introduced_by_a_merge_commit_points_at_the_merge() {
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit("feature work", &[("feat.txt", "clean\n")]);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit("main work", &[("main.txt", "hello\n")]);
    repo.git(&["merge", "-q", "--no-ff", "--no-commit", "feature"]);
    let token = github_token(410);
    let merge = repo.commit(
        "merge feature",
        &[("merge-fix.txt", format!("t={token}\n").as_str())],
    );
    let parents = repo.git(&["rev-list", "--parents", "-n1", "HEAD"]);
    assert_eq!(parents.split(' ').count(), 3, "HEAD is a merge: {parents}");

    let (code, report) = scan_json(repo.path(), &["--history-only"]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "merge-fix.txt");
    assert_git_provenance(&locations(f)[0], &merge, "merge feature", true);
}

/// Origin for clone tests: `gone.txt` (token A) added and removed, then
/// `kept.txt` (token B) added at the tip.
fn origin_with_two_secrets() -> (TestRepo, String, String) {
    let repo = TestRepo::new();
    let a = github_token(411);
    let b = github_token(412);
    repo.commit("add A", &[("gone.txt", format!("a={a}\n").as_str())]);
    repo.rm(&["gone.txt"]);
    repo.commit("remove A", &[]);
    repo.commit("add B", &[("kept.txt", format!("b={b}\n").as_str())]);
    (repo, a, b)
}

#[test]
fn history_shallow_clone_scans_what_exists_and_notes_shallow() {
    let (origin, _a, _b) = origin_with_two_secrets();
    let clone = origin.clone_to("shallow", &["--depth", "1"]);
    assert!(
        clone.join(".git/shallow").exists(),
        "git made a shallow clone"
    );

    let (code, report) = scan_json(&clone, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        report["incomplete"], false,
        "a shallow clone is not an error"
    );
    // A (only in unfetched commits) cannot be seen; B is in the fetched tip.
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "kept.txt");
    let git = git_locations(f);
    assert_eq!(git.len(), 1);
    assert_git_provenance(git[0], &origin.head(), "add B", true);
    assert_eq!(report["stats"]["commits"], 1);
    assert_eq!(report["vcs"]["shallow"], true);
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("shallow")),
        "{notes:?}"
    );
}

#[test]
fn history_shallow_clone_range_past_the_boundary_is_an_error_that_says_shallow() {
    let (origin, _, _) = origin_with_two_secrets();
    let clone = origin.clone_to("shallow", &["--depth", "1"]);
    let first = origin.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let r = scan(&clone, &["--range", &format!("{first}..HEAD")]);
    r.expect_code(2);
    assert!(r.stderr.contains("shallow"), "{}", r.stderr);
}

#[test]
fn history_bare_repository_scans_history_without_worktree() {
    let (origin, _, _) = origin_with_two_secrets();
    let bare = origin.clone_to("bare.git", &["--bare"]);
    let (code, report) = scan_json(&bare, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 2, "{report:#}");
    let gone = finding_at(&report, "github.pat-classic", "gone.txt");
    let kept = finding_at(&report, "github.pat-classic", "kept.txt");
    assert_eq!(sources(gone), ["git"]);
    assert_eq!(sources(kept), ["git"]);
    assert_eq!(locations(gone)[0]["provenance"]["in_head"], false);
    assert_eq!(locations(kept)[0]["provenance"]["in_head"], true);
    assert_eq!(report["stats"]["files"], 0, "a bare repo has no worktree");
    assert_eq!(report["stats"]["commits"], 3);
}

#[test]
fn history_range_reports_only_secrets_introduced_in_the_range() {
    let repo = TestRepo::new();
    let old = github_token(413);
    let new = github_token(414);
    repo.commit("old", &[("old.txt", format!("t={old}\n").as_str())]);
    let base = repo.commit("more", &[("notes.txt", "hello\n")]);
    let add = repo.commit("new", &[("new.txt", format!("t={new}\n").as_str())]);
    repo.commit("after", &[("after.txt", "bye\n")]);

    for args in [
        vec!["--range".to_string(), format!("{base}..HEAD")],
        vec!["--range".to_string(), format!("{base}..")],
        vec!["--since".to_string(), base.clone()],
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, report) = scan_json(repo.path(), &a);
        assert_eq!(code, 1, "{args:?}: {report:#}");
        assert_eq!(findings(&report).len(), 1, "{args:?}: {report:#}");
        let f = finding_at(&report, "github.pat-classic", "new.txt");
        assert_eq!(
            sources(f),
            ["git"],
            "{args:?}: a range does not scan the worktree"
        );
        assert_git_provenance(&locations(f)[0], &add, "new", true);
        assert_eq!(report["stats"]["commits"], 2, "{args:?}");
    }

    // A range that holds no new secret is clean even though history has one.
    let (code, report) = scan_json(repo.path(), &["--range", &format!("{add}..HEAD")]);
    assert_eq!(code, 0, "{report:#}");
}

#[test]
fn history_range_with_unknown_base_is_an_error() {
    let repo = TestRepo::new();
    repo.commit("init", &[("a.txt", "a\n")]);
    let r = scan(repo.path(), &["--range", "no-such-ref..HEAD"]);
    r.expect_code(2);
    assert!(r.stderr.contains("no-such-ref"), "{}", r.stderr);
}

#[test]
fn staged_reports_only_the_staged_blob() {
    let repo = TestRepo::new();
    let committed = github_token(415);
    let staged = github_token(416);
    let unstaged = github_token(417);
    repo.commit(
        "committed",
        &[("committed.txt", format!("t={committed}\n").as_str())],
    );
    repo.write("staged.txt", format!("t={staged}\n"));
    repo.git(&["add", "staged.txt"]);
    repo.write("unstaged.txt", format!("t={unstaged}\n"));

    let (code, report) = scan_json(repo.path(), &["--staged"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "staged.txt");
    assert_eq!(locations(f).len(), 1);
    assert_eq!(locations(f)[0]["provenance"], json!({"source": "staged"}));
    assert_eq!(locations(f)[0]["start"], json!({"line": 1, "column": 3}));
}

#[test]
fn staged_scans_the_index_version_not_the_worktree_file() {
    let repo = TestRepo::new();
    repo.commit("init", &[("app.cfg", "token = none\n")]);
    let token = github_token(418);
    repo.write("app.cfg", format!("token = {token}\n"));
    repo.git(&["add", "app.cfg"]);
    // The worktree file is cleaned after staging: the commit would still carry the token.
    repo.write("app.cfg", "token = none\n");
    let (code, report) = scan_json(repo.path(), &["--staged"]);
    assert_eq!(code, 1, "{report:#}");
    finding_at(&report, "github.pat-classic", "app.cfg");
}

#[test]
fn staged_with_index_equal_to_head_is_clean() {
    let repo = TestRepo::new();
    repo.commit(
        "committed",
        &[(
            "committed.txt",
            format!("t={}\n", github_token(419)).as_str(),
        )],
    );
    repo.write("untracked.txt", format!("t={}\n", github_token(420)));
    let (code, report) = scan_json(repo.path(), &["--staged"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
}

/// Repo for corruption tests: `gone.txt` (token A) only in history, and
/// `victim.txt` (token V) committed and still in the worktree.
fn repo_for_corruption() -> (TestRepo, String) {
    let repo = TestRepo::new();
    repo.commit(
        "add A",
        &[("gone.txt", format!("a={}\n", github_token(421)).as_str())],
    );
    repo.rm(&["gone.txt"]);
    repo.commit("remove A", &[]);
    repo.commit(
        "add victim",
        &[("victim.txt", format!("v={}\n", github_token(422)).as_str())],
    );
    let blob = repo.blob_id("HEAD", "victim.txt");
    assert!(
        repo.loose_object(&blob).exists(),
        "the blob is a loose object"
    );
    (repo, blob)
}

fn assert_corruption_reported(repo: &TestRepo, blob: &str) {
    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(
        code, 2,
        "an unreadable object makes the scan incomplete: {report:#}"
    );
    assert_eq!(report["incomplete"], true);
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| {
            let p = e["path"].as_str().unwrap();
            p.contains("victim.txt") && p.contains(blob)
        }),
        "no error names the object: {errors:#?}"
    );
    // The other history finding is still reported ...
    let gone = finding_at(&report, "github.pat-classic", "gone.txt");
    assert_eq!(sources(gone), ["git"]);
    // ... and the victim is still found in the worktree, but not from the broken blob.
    let victim = finding_at(&report, "github.pat-classic", "victim.txt");
    assert_eq!(sources(victim), ["file"]);
}

#[test]
fn history_missing_blob_object_is_an_error_and_other_findings_remain() {
    let (repo, blob) = repo_for_corruption();
    std::fs::remove_file(repo.loose_object(&blob)).unwrap();
    assert_corruption_reported(&repo, &blob);
}

#[test]
fn history_garbage_blob_object_is_an_error_and_other_findings_remain() {
    let (repo, blob) = repo_for_corruption();
    let p = repo.loose_object(&blob);
    let mut perm = std::fs::metadata(&p).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&p, perm).unwrap();
    std::fs::write(&p, b"this is not a zlib stream \x00\x01\x02\xff").unwrap();
    assert_corruption_reported(&repo, &blob);
}

#[test]
fn history_path_that_is_not_a_repository_scans_worktree_only() {
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(423)));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(sources(&findings(&report)[0]), ["file"]);
    assert_eq!(report["stats"]["commits"], 0);
    assert!(report.get("vcs").is_none());
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("not a git repository")),
        "{notes:?}"
    );
}

#[test]
fn history_modes_on_a_path_that_is_not_a_repository_are_usage_errors() {
    let dir = tempdir();
    for flag in [
        &["--history-only"][..],
        &["--staged"][..],
        &["--range", "a..b"][..],
        &["--branch", "main"][..],
    ] {
        let r = scan(dir.path(), flag);
        r.expect_code(2);
        assert!(
            r.stderr.contains("git repository"),
            "{flag:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn history_subdirectory_of_a_repository_scans_worktree_only_with_note() {
    let repo = TestRepo::new();
    repo.commit(
        "old",
        &[("old.txt", format!("t={}\n", github_token(424)).as_str())],
    );
    repo.rm(&["old.txt"]);
    repo.commit("rm", &[]);
    repo.commit(
        "sub",
        &[("sub/a.txt", format!("t={}\n", github_token(425)).as_str())],
    );
    let (code, report) = scan_json(&repo.path().join("sub"), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    assert_eq!(sources(&findings(&report)[0]), ["file"]);
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("not its root")),
        "{notes:?}"
    );
}

#[test]
fn history_empty_repository_is_clean() {
    let repo = TestRepo::new();
    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    assert_eq!(report["incomplete"], false);
    assert_eq!(report["stats"]["commits"], 0);

    // An untracked file in an empty repository is still scanned.
    repo.write("draft.txt", format!("t={}\n", github_token(426)));
    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(sources(&findings(&report)[0]), ["file"]);
}

#[test]
fn history_binary_blob_is_not_content_scanned() {
    let repo = TestRepo::new();
    let mut bytes = b"\0\x01\x02 ".to_vec();
    bytes.extend_from_slice(github_token(427).as_bytes());
    repo.write("blob.bin", &bytes);
    repo.git(&["add", "blob.bin"]);
    repo.commit("add binary", &[]);
    let (code, report) = scan_json(repo.path(), &["--history-only"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["skipped_binary"], 1);
}

#[test]
fn history_oversized_blob_is_skipped_with_note() {
    let repo = TestRepo::new();
    let big = format!("{}\nt={}\n", "z".repeat(3000), github_token(428));
    repo.commit("big", &[("big.txt", big.as_str())]);
    let (code, report) = scan_json(repo.path(), &["--history-only", "--max-file-size", "1K"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["skipped_large"], 1);
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("big.txt")),
        "{notes:?}"
    );
}

#[test]
fn test_repo_commit_ids_are_reproducible() {
    let build = || {
        let r = TestRepo::new();
        r.commit("one", &[("a.txt", "a\n")]);
        let id = r.commit("two", &[("b.txt", "b\n")]);
        (r, id)
    };
    let (r1, id1) = build();
    let (r2, id2) = build();
    assert_ne!(r1.path(), r2.path());
    assert_eq!(
        id1, id2,
        "the pinned git environment must make commits reproducible"
    );
}

#[test]
fn history_provenance_names_the_commit_that_removed_the_secret() {
    let repo = TestRepo::new();
    let deleted = github_token(429);
    let edited = github_token(430);
    repo.commit(
        "add both",
        &[
            ("deleted.txt", format!("t={deleted}\n").as_str()),
            ("edited.txt", format!("t={edited}\n").as_str()),
        ],
    );
    repo.commit("unrelated", &[("README.md", "hi\n")]);
    repo.rm(&["deleted.txt"]);
    let rm = repo.commit("delete file", &[]);
    let edit = repo.commit("scrub", &[("edited.txt", "t=${GH_TOKEN}\n")]);

    let (_, report) = scan_json(repo.path(), &["--history-only"]);
    let d = finding_at(&report, "github.pat-classic", "deleted.txt");
    assert_eq!(locations(d)[0]["provenance"]["removed_in"], rm.as_str());
    let e = finding_at(&report, "github.pat-classic", "edited.txt");
    assert_eq!(locations(e)[0]["provenance"]["removed_in"], edit.as_str());
}

#[test]
fn history_unreachable_flag_scans_commits_no_ref_reaches() {
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    repo.commit(
        "oops",
        &[("key.txt", format!("t={}\n", github_token(431)).as_str())],
    );
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 0, "no ref reaches the commit: {report:#}");
    let (code, report) = scan_json(repo.path(), &["--unreachable"]);
    assert_eq!(code, 1, "{report:#}");
    finding_at(&report, "github.pat-classic", "key.txt");
}

#[test]
fn history_unreachable_flag_reports_an_orphan_blob_by_id() {
    // A blob written to the object store but never committed (e.g. `git add` then
    // `git reset`): only --unreachable sees it, and it has no path or commit.
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    repo.write("orphan.txt", format!("t={}\n", github_token(432)));
    repo.git(&["hash-object", "-w", "orphan.txt"]);
    std::fs::remove_file(repo.path().join("orphan.txt")).unwrap();

    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let (code, report) = scan_json(repo.path(), &["--unreachable"]);
    assert_eq!(code, 1, "{report:#}");
    let locs = &report["findings"][0]["locations"];
    assert_eq!(locs[0]["provenance"]["source"], "unreachable", "{report:#}");
    assert!(
        locs[0]["path"]
            .as_str()
            .unwrap()
            .starts_with("(unreachable blob "),
        "{report:#}"
    );
}

#[test]
fn history_submodule_entry_is_noted_not_recursed() {
    let repo = TestRepo::new();
    repo.commit("init", &[("README.md", "# demo\n")]);
    let fake = "1234567890123456789012345678901234567890";
    repo.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{fake},vendor/lib"),
    ]);
    repo.commit("add submodule", &[]);
    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("submodule")),
        "{notes:?}"
    );
}

#[test]
fn staged_in_repository_without_commits_reports_staged_files() {
    let repo = TestRepo::new();
    repo.write("first.txt", format!("t={}\n", github_token(432)));
    repo.git(&["add", "first.txt"]);
    let (code, report) = scan_json(repo.path(), &["--staged"]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "first.txt");
    assert_eq!(sources(f), ["staged"]);
}

#[test]
fn history_submodules_are_scanned_only_with_recurse_submodules() {
    let sub = TestRepo::new();
    sub.commit(
        "key",
        &[("creds.txt", format!("t={}\n", github_token(433)).as_str())],
    );
    let sup = TestRepo::new();
    sup.commit("init", &[("README.md", "# demo\n")]);
    let url = format!("file://{}", sub.path().display());
    sup.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "vendor/sub",
    ]);
    sup.commit("add submodule", &[]);

    let (code, report) = scan_json(sup.path(), &[]);
    assert_eq!(
        code, 0,
        "submodules are not recursed by default: {report:#}"
    );
    let (code, report) = scan_json(sup.path(), &["--recurse-submodules"]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "vendor/sub/creds.txt");
    let sources: Vec<String> = f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["provenance"]["source"].as_str().unwrap().to_string())
        .collect();
    assert!(
        sources.contains(&"git".to_string()),
        "the submodule's history is scanned too: {f:#}"
    );
}

#[test]
fn history_linked_worktree_scans_the_shared_history() {
    let repo = TestRepo::new();
    repo.commit(
        "key",
        &[("creds.txt", format!("t={}\n", github_token(434)).as_str())],
    );
    repo.commit("remove", &[("creds.txt", "t=\n")]);
    let wt = repo.path().parent().unwrap().join(format!(
        "{}-wt",
        repo.path().file_name().unwrap().to_string_lossy()
    ));
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "-b", "side"]);
    let (code, report) = scan_json(&wt, &[]);
    let _ = std::fs::remove_dir_all(&wt);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "creds.txt");
    assert_eq!(f["locations"][0]["provenance"]["source"], "git", "{f:#}");
}

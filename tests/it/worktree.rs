//! Working-tree scans of plain directories: positions, ignore rules, binary and
//! oversized files, deduplication across files, env files.

use serde_json::json;

use crate::util::*;

#[test]
fn worktree_reports_github_token_with_one_based_line_and_column() {
    let dir = tempdir();
    let token = github_token(1);
    write(
        dir.path(),
        "config/app.yml",
        format!("# settings\nname: demo\n  github_token: {token}\n"),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = &findings(&report)[0];
    assert_eq!(f["rule_id"], "github.pat-classic");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["kind"], "secret");
    let locs = locations(f);
    assert_eq!(locs.len(), 1);
    let l = &locs[0];
    assert_eq!(l["path"], "config/app.yml");
    // "  github_token: " is 16 characters, so the token starts in column 17.
    assert_eq!(l["start"], json!({"line": 3, "column": 17}));
    assert_eq!(l["end"], json!({"line": 3, "column": 17 + token.len()}));
    assert_eq!(l["provenance"], json!({"source": "file"}));
    assert_eq!(report["incomplete"], false);
    assert!(report["errors"].as_array().unwrap().is_empty());
}

#[test]
fn worktree_columns_count_code_points_not_bytes() {
    let dir = tempdir();
    let token = github_token(2);
    // "é" is two bytes but one column; "日本" is six bytes, two columns.
    write(dir.path(), "notes.txt", format!("é 日本 {token}\n"));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "notes.txt");
    assert_eq!(locations(f)[0]["start"], json!({"line": 1, "column": 6}));
}

#[test]
fn worktree_empty_directory_is_clean() {
    let dir = tempdir();
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    assert_eq!(report["stats"]["files"], 0);
    assert_eq!(report["incomplete"], false);
}

#[test]
fn worktree_without_secrets_is_clean() {
    let dir = tempdir();
    write(
        dir.path(),
        "src/main.rs",
        "fn main() { println!(\"hi\"); }\n",
    );
    write(dir.path(), "README.md", "# demo\n\nNothing to see.\n");
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    assert_eq!(report["stats"]["files"], 2);
}

#[test]
fn worktree_skips_gitignored_file_unless_no_ignore() {
    let dir = tempdir();
    write(dir.path(), ".gitignore", "secrets/\n*.local\n");
    write(dir.path(), "secrets/prod.txt", github_token(3));
    write(dir.path(), "app.local", github_token(4));
    write(dir.path(), "tracked.txt", "nothing here\n");

    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "ignored files must not be scanned: {report:#}");
    assert!(findings(&report).is_empty());

    let (code, report) = scan_json(dir.path(), &["--no-ignore"]);
    assert_eq!(code, 1, "{report:#}");
    let mut all: Vec<String> = findings(&report).iter().flat_map(paths).collect();
    all.sort();
    assert_eq!(all, ["app.local", "secrets/prod.txt"]);
}

#[test]
fn worktree_skips_gitignored_file_inside_git_repository() {
    let repo = TestRepo::new();
    repo.commit("ignore env", &[(".gitignore", "local.env\n")]);
    repo.write("local.env", format!("TOKEN={}\n", github_token(5)));
    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
}

#[test]
fn worktree_does_not_scan_content_of_binary_file() {
    let dir = tempdir();
    let token = github_token(6);
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0".to_vec();
    bytes.extend_from_slice(format!(" {token} ").as_bytes());
    write(dir.path(), "tool.bin", &bytes);
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(report["stats"]["skipped_binary"], 1);

    // Control: the same bytes without NUL are text and the token is found.
    let text = tempdir();
    let bytes: Vec<u8> = bytes.into_iter().filter(|&b| b != 0).collect();
    write(text.path(), "tool.bin", &bytes);
    let (code, report) = scan_json(text.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    finding_at(&report, "github.pat-classic", "tool.bin");
}

#[test]
fn worktree_skips_file_over_max_file_size_with_note() {
    let dir = tempdir();
    let token = github_token(7);
    write(
        dir.path(),
        "dump.sql",
        format!("{}\n-- {token}\n", "x".repeat(4000)),
    );
    let (code, report) = scan_json(dir.path(), &["--max-file-size", "1K"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(report["stats"]["skipped_large"], 1);
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| {
            let n = n.as_str().unwrap();
            n.contains("dump.sql") && n.contains("size limit")
        }),
        "no note names the skipped file: {notes:?}"
    );
    // A skipped file is a policy decision, not a failure.
    assert_eq!(report["incomplete"], false);

    // Under a larger limit the same file is scanned.
    let (code, report) = scan_json(dir.path(), &["--max-file-size", "8K"]);
    assert_eq!(code, 1, "{report:#}");
    finding_at(&report, "github.pat-classic", "dump.sql");
}

#[test]
fn worktree_max_file_size_from_config_applies() {
    let dir = tempdir();
    write(
        dir.path(),
        ".preflight.toml",
        "[scan]\nmax_file_size = 1024\n",
    );
    write(
        dir.path(),
        "big.txt",
        format!("{}\n{}\n", "y".repeat(2000), github_token(8)),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stats"]["skipped_large"], 1);
}

#[test]
fn worktree_same_secret_in_two_files_is_one_finding_with_two_locations() {
    let dir = tempdir();
    let token = github_token(9);
    write(dir.path(), "b/deploy.sh", format!("export GH={token}\n"));
    write(dir.path(), "a/ci.yml", format!("env:\n  GH: {token}\n"));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    let f = &findings(&report)[0];
    let locs = locations(f);
    assert_eq!(locs.len(), 2);
    // Locations are sorted by path; each has its own location fingerprint.
    assert_eq!(locs[0]["path"], "a/ci.yml");
    assert_eq!(locs[0]["start"], json!({"line": 2, "column": 7}));
    assert_eq!(locs[1]["path"], "b/deploy.sh");
    assert_eq!(locs[1]["start"], json!({"line": 1, "column": 11}));
    assert_ne!(locs[0]["fingerprint"], locs[1]["fingerprint"]);
}

#[test]
fn worktree_committed_env_file_fires_dotenv_listing_keys() {
    let repo = TestRepo::new();
    let env = format!(
        "# production\nAPI_KEY={}\nDB_PASSWORD={}\nPORT=8080\nDEBUG=false\n",
        chars_from(10, 32, b"abcdef0123456789"),
        strong_password()
    );
    repo.commit("add env", &[(".env", env.as_str())]);
    let (code, report) = scan_json(repo.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "dotenv.file", ".env");
    assert_eq!(f["keys"], json!(["API_KEY", "DB_PASSWORD"]));
    let mut src = sources(f);
    src.sort();
    assert_eq!(src, ["file", "git"]);
}

#[test]
fn worktree_env_example_with_only_placeholders_is_clean() {
    let dir = tempdir();
    write(
        dir.path(),
        ".env.example",
        "API_KEY=changeme\nDB_PASSWORD=<your-password>\nSECRET_KEY=\nTOKEN=${TOKEN}\nPORT=8080\n",
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty(), "{report:#}");
}

#[test]
fn worktree_env_example_with_a_real_value_fires_dotenv() {
    let dir = tempdir();
    write(
        dir.path(),
        ".env.example",
        format!("API_KEY=changeme\nDB_PASSWORD={}\n", strong_password()),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "dotenv.file", ".env.example");
    assert_eq!(f["keys"], json!(["DB_PASSWORD"]));
}

#[test]
fn worktree_scan_of_a_single_file_reports_its_name() {
    let dir = tempdir();
    write(dir.path(), "one.txt", format!("t={}\n", github_token(11)));
    write(dir.path(), "other.txt", format!("t={}\n", github_token(12)));
    let r = run_in(
        dir.path(),
        &["scan", "one.txt", "-f", "json", "--no-history"],
    );
    r.expect_code(1);
    let report = r.json();
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    assert_eq!(paths(&findings(&report)[0]), ["one.txt"]);
}

#[test]
fn worktree_fail_on_above_the_finding_severity_exits_zero() {
    let dir = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(13)));
    let (code, report) = scan_json(dir.path(), &["--fail-on", "critical"]);
    assert_eq!(code, 0, "{report:#}");
    // The finding is still reported; only the verdict changes.
    assert_eq!(findings(&report).len(), 1);
    let (code, _) = scan_json(dir.path(), &["--fail-on", "high"]);
    assert_eq!(code, 1);
}

#[test]
fn worktree_output_file_receives_report_and_stdout_stays_empty() {
    let dir = tempdir();
    let out = tempdir();
    write(dir.path(), "a.txt", format!("t={}\n", github_token(14)));
    let target = out.path().join("report.json");
    let r = run_in(
        dir.path(),
        &["scan", ".", "-f", "json", "-o", target.to_str().unwrap()],
    );
    r.expect_code(1);
    assert!(r.stdout.is_empty(), "stdout: {}", r.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(findings(&report).len(), 1);
}

#[test]
fn worktree_positions_with_crlf_line_endings_and_token_at_offset_zero() {
    let dir = tempdir();
    let a = github_token(15);
    let b = github_token(16);
    write(dir.path(), "win.txt", format!("{a}\r\nx\r\n  t={b}\r\n"));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let mut starts: Vec<serde_json::Value> = findings(&report)
        .iter()
        .map(|f| locations(f)[0]["start"].clone())
        .collect();
    starts.sort_by_key(|s| s["line"].as_u64());
    assert_eq!(
        starts,
        [
            json!({"line": 1, "column": 1}),
            json!({"line": 3, "column": 5})
        ]
    );
}

#[test]
fn worktree_tracked_file_matching_gitignore_is_still_scanned() {
    // .gitignore only applies to untracked files: a tracked file that matches it
    // is still in every commit and push.
    let repo = TestRepo::new();
    repo.write("config/prod.yml", format!("token: {}\n", github_token(17)));
    repo.git(&["add", "config/prod.yml"]);
    repo.commit("add config", &[(".gitignore", "config/\n")]);
    let (code, report) = scan_json(repo.path(), &["--no-history"]);
    assert_eq!(code, 1, "a tracked file was skipped: {report:#}");
    finding_at(&report, "github.pat-classic", "config/prod.yml");
}

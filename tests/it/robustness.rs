//! Hostile or unusual input: invalid UTF-8, a 100 MB single-line file,
//! symlink loops and escapes, unreadable files and directories, control
//! characters in paths, and usage errors. None of it may hang, panic or
//! silently drop findings.

use std::io::Write;

use serde_json::json;

use crate::util::*;

#[test]
fn robustness_finds_token_amid_invalid_utf8() {
    let dir = tempdir();
    let token = github_token(500);
    let mut bytes = b"\xff\xfe\xc3\x28 junk \xe2\x82 ".to_vec();
    bytes.extend_from_slice(token.as_bytes());
    bytes.extend_from_slice(b" \xf0\x28\x8c\xbc tail\n\xc0\xaf second line\n");
    write(dir.path(), "mixed.dat", &bytes);
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "mixed.dat");
    assert_eq!(locations(f)[0]["start"]["line"], 1);
    // The report stays valid UTF-8 JSON (it parsed) and does not leak the token.
    assert_eq!(f["secret"], "ghp_…[40 chars]");
}

#[test]
fn robustness_scans_100mb_single_line_file() {
    let dir = tempdir();
    let token = github_token(501);
    let size: usize = 100 << 20;
    let tail = format!(" key={token} ;\n");
    let filler = size - tail.len();
    {
        let f = std::fs::File::create(dir.path().join("bundle.min.js")).unwrap();
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let chunk = "var a=1;".repeat(8192); // 64 KiB, no newline
        let mut left = filler;
        while left > 0 {
            let n = left.min(chunk.len());
            w.write_all(&chunk.as_bytes()[..n]).unwrap();
            left -= n;
        }
        w.write_all(tail.as_bytes()).unwrap();
        w.flush().unwrap();
    }
    assert_eq!(
        std::fs::metadata(dir.path().join("bundle.min.js"))
            .unwrap()
            .len() as usize,
        size
    );
    let (code, report) = scan_json(dir.path(), &["--max-file-size", "200M"]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_at(&report, "github.pat-classic", "bundle.min.js");
    let col = filler + " key=".len() + 1;
    assert_eq!(locations(f)[0]["start"], json!({"line": 1, "column": col}));
    assert_eq!(report["stats"]["bytes_scanned"], size as u64);
}

#[cfg(unix)]
#[test]
fn robustness_symlink_loop_does_not_hang_and_is_not_followed() {
    let dir = tempdir();
    let token = github_token(502);
    write(dir.path(), "d/inner/key.txt", format!("t={token}\n"));
    std::os::unix::fs::symlink("..", dir.path().join("d/inner/up")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("d/self")).unwrap();
    // `preflight()` runs under a timeout, so a loop fails instead of hanging.
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(findings(&report).len(), 1);
    let f = &findings(&report)[0];
    assert_eq!(paths(f), ["d/inner/key.txt"], "a symlink was followed");
    assert_eq!(report["stats"]["skipped_symlinks"], 2);
    assert_eq!(report["stats"]["files"], 1);
    assert_eq!(report["incomplete"], false);
}

#[cfg(unix)]
#[test]
fn robustness_symlink_out_of_the_tree_is_not_followed() {
    let dir = tempdir();
    let outside = tempdir();
    write(
        outside.path(),
        "secret.txt",
        format!("t={}\n", github_token(503)),
    );
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("link.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("linkdir")).unwrap();
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert!(findings(&report).is_empty());
    assert_eq!(report["stats"]["skipped_symlinks"], 2);
}

#[cfg(unix)]
#[test]
fn robustness_unreadable_file_is_an_error_and_other_findings_remain() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    write(
        dir.path(),
        "locked.txt",
        format!("t={}\n", github_token(504)),
    );
    write(dir.path(), "open.txt", format!("t={}\n", github_token(505)));
    let locked = dir.path().join("locked.txt");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_ok() {
        eprintln!(
            "SKIPPED robustness_unreadable_file_is_an_error_and_other_findings_remain: \
             a chmod 000 file is still readable here (running as root?); \
             robustness_unreadable_directory_is_an_error_and_other_findings_remain covers the root case"
        );
        return;
    }
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["incomplete"], true);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["path"], "locked.txt");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("permission denied"),
        "{errors:#?}"
    );
    assert_eq!(findings(&report).len(), 1);
    assert_eq!(paths(&findings(&report)[0]), ["open.txt"]);
}

#[cfg(unix)]
#[test]
fn robustness_unreadable_directory_is_an_error_and_other_findings_remain() {
    // A directory path longer than PATH_MAX cannot be listed, even by root.
    let dir = tempdir();
    write(dir.path(), "open.txt", format!("t={}\n", github_token(506)));
    make_unwalkable_dir(dir.path(), &format!("t={}", github_token(507)));
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["incomplete"], true);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0]["path"].as_str().unwrap().starts_with("deep/"));
    assert!(!errors[0]["message"].as_str().unwrap().is_empty());
    assert_eq!(findings(&report).len(), 1, "{report:#}");
    assert_eq!(paths(&findings(&report)[0]), ["open.txt"]);
}

#[test]
fn robustness_control_characters_in_paths_are_escaped_in_text_report() {
    let dir = tempdir();
    let name = "evil\x1b[2J\x07name.txt";
    write(dir.path(), name, format!("t={}\n", github_token(508)));
    let r = run_in(dir.path(), &["scan", "."]);
    r.expect_code(1);
    assert!(!r.stdout.contains('\x1b'), "raw ESC in the text report");
    assert!(!r.stdout.contains('\x07'), "raw BEL in the text report");
    assert!(r.stdout.contains("evil\\u{1b}[2J"), "{}", r.stdout);
    // JSON keeps the real name (escaped by JSON itself).
    let (_, report) = scan_json(dir.path(), &[]);
    assert_eq!(paths(&findings(&report)[0]), [name]);
}

#[test]
fn robustness_missing_scan_path_is_a_usage_error() {
    let dir = tempdir();
    let r = run_in(dir.path(), &["scan", "does-not-exist", "-f", "json"]);
    r.expect_code(2);
    assert!(r.stderr.contains("does-not-exist"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn robustness_bad_arguments_are_usage_errors() {
    let repo = TestRepo::new();
    repo.commit("init", &[("a.txt", "a\n")]);
    for args in [
        &["--range", "HEAD"][..],
        &["--range", "..HEAD"][..],
        &["--max-file-size", "12Q"][..],
        &["--fail-on", "severe"][..],
        &["--staged", "--history-only"][..],
        &["--no-such-flag"][..],
    ] {
        let r = scan(repo.path(), args);
        assert_eq!(
            r.code, 2,
            "{args:?}: stdout {} stderr {}",
            r.stdout, r.stderr
        );
        assert!(!r.stderr.is_empty(), "{args:?}: no message");
    }
}

#[test]
fn robustness_broken_pipe_exits_zero_silently() {
    let dir = tempdir();
    // Enough findings that the report is larger than a pipe buffer.
    for i in 0..300u64 {
        write(
            dir.path(),
            &format!("f{i:03}.txt"),
            format!("t={}\n", github_token(600 + i)),
        );
    }
    let mut child = std::process::Command::new(preflight_bin())
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["scan", ".", "-f", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn robustness_unwritable_output_file_is_an_error() {
    let dir = tempdir();
    write(dir.path(), "a.txt", "nothing\n");
    let target = dir.path().join("no-such-dir/report.json");
    let r = scan(dir.path(), &["-o", target.to_str().unwrap()]);
    r.expect_code(2);
    assert!(r.stderr.contains("report.json"), "{}", r.stderr);
}

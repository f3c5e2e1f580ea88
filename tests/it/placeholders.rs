//! Values that look like secrets by position but are placeholders, references
//! or prose must not be findings; short real passwords in config must be.
//! Every negative test carries a positive control in the same scan, so a rule
//! that stops firing altogether fails the test instead of passing it.

use crate::util::*;

/// Placeholder values that `password = "..."` in a config.yml may hold.
const PLACEHOLDERS: &[&str] = &[
    "",
    "${VAR}",
    "$VAR",
    "<your-key>",
    "changeme",
    "xxxx",
    "example",
    "dummy",
    "test",
];

#[test]
fn placeholder_password_values_in_config_yml_are_not_findings() {
    let dir = tempdir();
    for (i, v) in PLACEHOLDERS.iter().enumerate() {
        write(
            dir.path(),
            &format!("case{i}/config.yml"),
            format!("db:\n  password = \"{v}\"\n"),
        );
    }
    write(
        dir.path(),
        "control/config.yml",
        format!("db:\n  password = \"{}\"\n", strong_password()),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let flagged: Vec<String> = findings(&report).iter().flat_map(paths).collect();
    let wrong: Vec<String> = flagged
        .iter()
        .filter(|p| p.starts_with("case"))
        .map(|p| {
            let i: usize = p["case".len()..p.find('/').unwrap()].parse().unwrap();
            format!("{p} ({:?})", PLACEHOLDERS[i])
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "placeholders reported as secrets: {wrong:?}"
    );
    assert_eq!(flagged, ["control/config.yml"], "control not found");
}

#[test]
fn placeholder_password_values_in_yaml_colon_form_are_not_findings() {
    let dir = tempdir();
    for (i, v) in PLACEHOLDERS.iter().enumerate() {
        write(
            dir.path(),
            &format!("case{i}/config.yml"),
            format!("password: \"{v}\"\n"),
        );
    }
    write(
        dir.path(),
        "control/config.yml",
        format!("password: \"{}\"\n", strong_password()),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let flagged: Vec<String> = findings(&report).iter().flat_map(paths).collect();
    assert_eq!(flagged, ["control/config.yml"], "{report:#}");
}

#[test]
fn environment_lookups_in_code_are_not_findings() {
    let dir = tempdir();
    write(
        dir.path(),
        "app.py",
        "import os\n\npassword = os.environ[\"X\"]\napi_token = getenv(\"X\")\nsecret = os.getenv(\"X\")\n",
    );
    write(
        dir.path(),
        "app.js",
        "const token = process.env.X;\nlet password = process.env[\"X\"];\n",
    );
    write(
        dir.path(),
        "main.go",
        "package main\n\nvar password = os.Getenv(\"X\")\n",
    );
    write(
        dir.path(),
        "control.py",
        format!("password = \"{}\"\n", strong_password()),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let flagged: Vec<String> = findings(&report).iter().flat_map(paths).collect();
    assert_eq!(flagged, ["control.py"], "{report:#}");
}

#[test]
fn documented_aws_example_key_is_not_a_finding() {
    let dir = tempdir();
    // AWS's documented example key id, assembled so no key-shaped literal is in tests/.
    let documented = format!("AKIA{}", "IOSFODNN7EXAMPLE");
    write(
        dir.path(),
        "docs/aws.ini",
        format!("[default]\naws_access_key_id = {documented}\n"),
    );
    write(
        dir.path(),
        "control.ini",
        format!("[default]\naws_access_key_id = {}\n", aws_key_id(1)),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let flagged: Vec<String> = findings(&report).iter().flat_map(paths).collect();
    assert_eq!(flagged, ["control.ini"], "{report:#}");
    finding_at(&report, "aws.access-key-id", "control.ini");
}

#[test]
fn short_human_password_in_env_and_config_is_a_finding() {
    let dir = tempdir();
    write(dir.path(), "svc/.env", "password=hunter22\n");
    write(dir.path(), "svc/config.properties", "password=hunter22\n");
    write(dir.path(), "svc/config.yml", "password: hunter22\n");
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let mut flagged: Vec<String> = findings(&report).iter().flat_map(paths).collect();
    flagged.sort();
    flagged.dedup();
    assert_eq!(
        flagged,
        ["svc/.env", "svc/config.properties", "svc/config.yml"],
        "{report:#}"
    );
}

#[test]
fn password_in_readme_prose_is_not_a_finding() {
    let dir = tempdir();
    write(
        dir.path(),
        "README.md",
        "# Setup\n\nFor the demo VM the password is hunter22, change it after login.\n",
    );
    write(dir.path(), "control/.env", "password=hunter22\n");
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1, "{report:#}");
    let flagged: Vec<String> = findings(&report).iter().flat_map(paths).collect();
    assert!(
        !flagged.iter().any(|p| p == "README.md"),
        "prose reported: {report:#}"
    );
    assert!(flagged.iter().any(|p| p == "control/.env"), "{report:#}");
}

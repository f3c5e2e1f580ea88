//! Python lockfiles: `requirements*.txt` (only `==`/`===` pins are audited;
//! anything else is a note), `poetry.lock`, `uv.lock`, `pdm.lock` (TOML) and
//! `Pipfile.lock` (JSON).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cargo::toml_error;
use super::{Ecosystem, Error, Kind, Lockfile, Package, toml_package_headers};

/// How deep `-r` includes may nest (a loop is caught earlier by the visited set).
const MAX_INCLUDE_DEPTH: usize = 16;

/// A `-r`/`-c` include found in a requirements file: (path as written, line).
pub(super) type Include = (String, usize);

/// Load a requirements file and, recursively, the files it includes with
/// `-r`/`--requirement` and `-c`/`--constraint` (relative to the including file).
/// Returns what could be parsed and an error per line or file that could not.
pub(super) fn load_requirements(abs: &Path, rel: &str) -> (Lockfile, Vec<Error>) {
    let mut out = Lockfile {
        path: rel.to_string(),
        ..Default::default()
    };
    let mut visited = BTreeSet::new();
    let mut errors = Vec::new();
    load_requirements_into(abs, rel, 0, &mut visited, &mut out, &mut errors);
    (out, errors)
}

fn load_requirements_into(
    abs: &Path,
    rel: &str,
    depth: usize,
    visited: &mut BTreeSet<PathBuf>,
    out: &mut Lockfile,
    errors: &mut Vec<Error>,
) {
    let key = std::fs::canonicalize(abs).unwrap_or_else(|_| abs.to_path_buf());
    if !visited.insert(key) {
        return;
    }
    let text = match std::fs::read(abs) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(source) => {
            errors.push(Error::Read {
                path: rel.to_string(),
                source,
            });
            return;
        }
    };
    let (lf, includes, errs) = parse_requirements(rel, &text);
    errors.extend(errs);
    out.packages.extend(lf.packages);
    out.notes.extend(lf.notes);
    for (inc, line) in includes {
        if depth >= MAX_INCLUDE_DEPTH {
            errors.push(Error::parse(
                rel,
                Some(line),
                format!("-r {inc}: includes nested deeper than {MAX_INCLUDE_DEPTH}"),
            ));
            continue;
        }
        let inc_abs = abs.parent().unwrap_or(Path::new("")).join(&inc);
        let inc_rel = join_rel(rel, &inc);
        load_requirements_into(&inc_abs, &inc_rel, depth + 1, visited, out, errors);
    }
}

/// `dir(rel)/inc`, lexically normalized, `/`-separated.
fn join_rel(rel: &str, inc: &str) -> String {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    if inc.starts_with('/') {
        return inc.to_string();
    }
    for seg in inc.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Parse requirements text: pinned packages, notes for what is not pinned, and
/// the includes to follow, and an error per unreadable line (the other lines
/// still count). Pure.
pub(super) fn parse_requirements(rel: &str, text: &str) -> (Lockfile, Vec<Include>, Vec<Error>) {
    let mut errors = Vec::new();
    let mut out = Lockfile {
        path: rel.to_string(),
        ..Default::default()
    };
    let mut includes = Vec::new();
    // Join `\` continuations, keeping the first physical line's number.
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut acc) = pending.take().unwrap_or((i + 1, String::new()));
        // As in pip, a comment line never continues (its `\` is part of the comment).
        let comment = raw.trim_start().starts_with('#');
        match raw.strip_suffix('\\').filter(|_| !comment) {
            Some(body) => {
                acc.push_str(body);
                acc.push(' ');
                pending = Some((start, acc));
            }
            None => {
                acc.push_str(raw);
                logical.push((start, acc));
            }
        }
    }
    logical.extend(pending);
    for (line, text) in logical {
        let body = strip_comment(&text).trim();
        if body.is_empty() {
            continue;
        }
        if body.starts_with('-') {
            if let Some(inc) = option_value(body, &["-r", "--requirement", "-c", "--constraint"]) {
                if inc.is_empty() {
                    errors.push(Error::parse(rel, Some(line), "-r needs a file name"));
                } else {
                    includes.push((inc.to_string(), line));
                }
            } else if let Some(e) = option_value(body, &["-e", "--editable"]) {
                if e.is_empty() {
                    errors.push(Error::parse(rel, Some(line), "-e needs a path or URL"));
                    continue;
                }
                out.notes.push(format!(
                    "{rel}:{line}: editable requirement {e} is not pinned, not audited"
                ));
            }
            // Every other option (--index-url, --hash on its own line, ...) pins nothing.
            continue;
        }
        match parse_requirement_line(body) {
            Req::Pinned { name, version } => out.packages.push(Package {
                ecosystem: Ecosystem::PyPI,
                name,
                version,
                path: rel.to_string(),
                line,
            }),
            Req::Unpinned(what) => out.notes.push(format!(
                "{rel}:{line}: {what} is not pinned with ==, not audited"
            )),
            Req::Invalid(why) => errors.push(Error::parse(rel, Some(line), why)),
        }
    }
    (out, includes, errors)
}

/// `#` starts a comment at the start of a line or after whitespace (pip's rule),
/// so `https://host/x#egg=y` keeps its fragment.
fn strip_comment(s: &str) -> &str {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
            return &s[..i];
        }
    }
    s
}

/// The value of `-r FILE`, `-rFILE`, `--requirement FILE` or `--requirement=FILE`.
fn option_value<'a>(body: &'a str, names: &[&str]) -> Option<&'a str> {
    for n in names {
        if let Some(rest) = body.strip_prefix(n) {
            if n.starts_with("--") {
                if let Some(v) = rest.strip_prefix('=') {
                    return Some(v.trim());
                }
                if rest.starts_with(char::is_whitespace) {
                    return Some(rest.trim());
                }
            } else if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                return Some(rest.trim());
            } else if !rest.starts_with('-') && n.len() == 2 {
                // `-rfile.txt`
                return Some(rest.trim());
            }
        }
    }
    None
}

enum Req {
    Pinned { name: String, version: String },
    Unpinned(String),
    Invalid(String),
}

/// One requirement line (comments already stripped): `name[extras] == 1.2 ; markers --hash=...`.
fn parse_requirement_line(body: &str) -> Req {
    // Per-requirement options start with whitespace and `--` (hashes, global options).
    let option = body
        .match_indices("--")
        .find(|(i, _)| *i > 0 && body[..*i].ends_with(char::is_whitespace));
    let body = match option {
        Some((i, _)) => &body[..i],
        None => body,
    };
    let body = body.split(';').next().unwrap_or(body).trim();
    let name_end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(body.len());
    let name = &body[..name_end];
    if name.is_empty() {
        if ["<<<<<<<", "=======", ">>>>>>>", "|||||||"]
            .iter()
            .any(|m| body.starts_with(m))
        {
            return Req::Invalid("a merge conflict marker".into());
        }
        if body.starts_with(['.', '/', '\\', '~', '$'])
            || body.contains(":/")
            || body.contains(":\\")
        {
            return Req::Unpinned(format!("{body:?} (a path or URL)"));
        }
        return Req::Unpinned(format!("{body:?} (not a requirement)"));
    }
    let mut rest = body[name_end..].trim_start();
    if let Some(r) = rest.strip_prefix('[') {
        match r.find(']') {
            Some(i) => rest = r[i + 1..].trim_start(),
            None => return Req::Invalid(format!("{name}: unclosed extras '['")),
        }
    }
    if rest.starts_with('@') {
        return Req::Unpinned(format!("{name} (a direct URL reference)"));
    }
    // `git+https://…`, `https://…/x.whl`, `./dir`, `C:\dir`: what pip installs
    // from a location has no version to audit.
    if rest.starts_with(['/', '\\', ':', '+']) {
        return Req::Unpinned(format!("{body:?} (a path or URL)"));
    }
    if rest.starts_with(['(']) {
        rest = rest.trim_start_matches('(').trim_end_matches(')').trim();
    }
    if rest.is_empty() {
        return Req::Unpinned(name.to_string());
    }
    if !rest.starts_with(['=', '<', '>', '!', '~']) {
        return Req::Invalid(format!("{name}: cannot read version specifier {rest:?}"));
    }
    let clauses: Vec<&str> = rest.split(',').map(str::trim).collect();
    if clauses.len() == 1 {
        let c = clauses[0];
        let v = c
            .strip_prefix("===")
            .or_else(|| c.strip_prefix("=="))
            .map(str::trim);
        if let Some(v) = v {
            if !v.is_empty() && !v.contains('*') {
                return Req::Pinned {
                    name: name.to_string(),
                    version: v.to_string(),
                };
            }
        }
    }
    Req::Unpinned(format!("{name}{rest}"))
}

#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<toml::Table>,
}

/// `poetry.lock`, `uv.lock` and `pdm.lock`: `[[package]]` tables with `name` and `version`.
pub(super) fn parse_toml_lock(rel: &str, kind: Kind, text: &str) -> Result<Lockfile, Error> {
    let lock: TomlLock = toml::from_str(text).map_err(|e| toml_error(rel, &e.to_string()))?;
    let headers = toml_package_headers(text);
    let by_order = headers.len() == lock.package.len();
    let mut out = Lockfile {
        path: rel.to_string(),
        ..Default::default()
    };
    let mut skipped = Vec::new();
    for (i, p) in lock.package.iter().enumerate() {
        let name = p.get("name").and_then(|v| v.as_str()).unwrap_or_default();
        let line = if by_order {
            headers[i].line
        } else {
            headers
                .iter()
                .find(|h| h.name == name)
                .map_or(1, |h| h.line)
        };
        if name.is_empty() {
            return Err(Error::parse(rel, Some(line), "[[package]] without a name"));
        }
        let version = p.get("version").and_then(|v| v.as_str());
        let source = p.get("source");
        let local = |k: &str| source.and_then(|s| s.get(k)).is_some();
        let not_registry = match kind {
            // poetry: [package.source] type = git | directory | file | url | legacy (an index)
            Kind::PoetryLock => source
                .and_then(|s| s.get("type"))
                .and_then(|t| t.as_str())
                .filter(|t| *t != "legacy")
                .map(str::to_string),
            // uv: source = { registry = ... } | { editable | virtual | path | directory | git | url = ... }
            Kind::UvLock => {
                if local("editable") || local("virtual") {
                    continue; // the project itself or a workspace member
                }
                ["path", "directory", "git", "url"]
                    .into_iter()
                    .find(|k| local(k))
                    .map(str::to_string)
            }
            // pdm: git / path / url / editable keys on the package itself
            _ => ["git", "path", "url", "editable"]
                .into_iter()
                .find(|k| p.contains_key(*k))
                .map(str::to_string),
        };
        if let Some(src) = not_registry {
            skipped.push(format!("{name} ({src}, line {line})"));
            continue;
        }
        let Some(version) = version else {
            skipped.push(format!("{name} (no version, line {line})"));
            continue;
        };
        out.packages.push(Package {
            ecosystem: Ecosystem::PyPI,
            name: name.to_string(),
            version: version.to_string(),
            path: rel.to_string(),
            line,
        });
    }
    if !skipped.is_empty() {
        out.notes.push(format!(
            "{rel}: {} package(s) not from a package index, not audited: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    Ok(out)
}

/// `Pipfile.lock`: JSON `default` and `develop` sections, `"version": "==X"`.
pub(super) fn parse_pipfile_lock(rel: &str, text: &str) -> Result<Lockfile, Error> {
    let (doc, mut out) = super::json_lockfile(rel, text)?;
    for section in ["default", "develop"] {
        let section = super::json_section(rel, &doc, section)?;
        for (name, line, entry) in section.map(|s| s.members()).unwrap_or_default() {
            let version = entry.get("version");
            if version.is_some_and(|v| v.as_str().is_none()) {
                return Err(Error::parse(
                    rel,
                    Some(*line),
                    format!("{name}: \"version\" is not a string"),
                ));
            }
            match version.and_then(|v| v.as_str()) {
                Some(v) if v.starts_with("==") => out.packages.push(Package {
                    ecosystem: Ecosystem::PyPI,
                    name: name.clone(),
                    version: v.trim_start_matches('=').trim().to_string(),
                    path: rel.to_string(),
                    line: *line,
                }),
                Some(v) => out.notes.push(format!(
                    "{rel}:{line}: {name} {v} is not pinned with ==, not audited"
                )),
                None => out.notes.push(format!(
                    "{rel}:{line}: {name} has no version (git, path or file source), not audited"
                )),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::source::lockfile::testing::pins;

    #[test]
    fn requirements_pins_extras_markers_hashes_and_notes() {
        let text = "# top\n\
            Django==3.2.0\n\
            requests[security,socks] == 2.19.1 ; python_version >= \"3.6\"\n\
            urllib3==1.24.1 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n\
            flask>=1.0\n\
            numpy\n\
            -r other.txt\n\
            --index-url https://example.org/simple\n\
            pkg @ https://example.org/pkg.whl\n\
            -e ./local\n\
            jinja2===2.10 # trailing comment\n\
            six==1.*\n";
        let (lf, inc, errs) = parse_requirements("requirements.txt", text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            pins(&lf),
            [
                ("Django".into(), "3.2.0".into(), 2),
                ("requests".into(), "2.19.1".into(), 3),
                ("urllib3".into(), "1.24.1".into(), 4),
                ("jinja2".into(), "2.10".into(), 13),
            ]
        );
        assert_eq!(inc, [("other.txt".to_string(), 9)]);
        let notes = lf.notes.join("\n");
        for n in [
            ":7: flask>=1.0",
            ":8: numpy",
            ":11: pkg",
            ":12: editable",
            ":14: six==1.*",
        ] {
            assert!(notes.contains(n), "{n} missing from {notes}");
        }
    }

    #[test]
    fn locations_are_notes_and_tabs_separate_options() {
        let text = "git+https://example.org/x.git#egg=x\n\
            https://example.org/x-1.0-py3-none-any.whl\n\
            ./localdir\n\
            ../sibling\n\
            fixture-py==1.0\t--hash=sha256:aaaa\n";
        let (lf, _, errs) = parse_requirements("requirements.txt", text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(pins(&lf), [("fixture-py".into(), "1.0".into(), 5)]);
        let notes = lf.notes.join("\n");
        for n in [":1: ", ":2: ", ":3: ", ":4: "] {
            assert!(notes.contains(n), "{n} missing from {notes}");
        }
        assert!(notes.contains("a path or URL"), "{notes}");
    }

    #[test]
    fn requirement_garbage_is_an_error_with_line() {
        let (lf, _, errs) = parse_requirements("r.txt", "ok==1\nbad[extra==1\n");
        assert_eq!(lf.packages.len(), 1);
        assert!(errs[0].to_string().starts_with("r.txt:2:"), "{errs:?}");
    }

    #[test]
    fn include_paths_join_lexically() {
        assert_eq!(join_rel("a/requirements.txt", "../b/c.txt"), "b/c.txt");
        assert_eq!(join_rel("requirements.txt", "./dev.txt"), "dev.txt");
        assert_eq!(join_rel("requirements.txt", "../x.txt"), "../x.txt");
    }

    #[test]
    fn pipfile_lock_sections() {
        let text = "{\n \"_meta\": {},\n \"default\": {\n  \"django\": {\"version\": \"==3.2.0\"},\n  \"mylib\": {\"git\": \"https://example.org/x.git\"}\n },\n \"develop\": {\n  \"pytest\": {\"version\": \"==7.0.0\"}\n }\n}\n";
        let lf = parse_pipfile_lock("Pipfile.lock", text).unwrap();
        assert_eq!(
            pins(&lf),
            [
                ("django".into(), "3.2.0".into(), 4),
                ("pytest".into(), "7.0.0".into(), 8)
            ]
        );
        assert_eq!(lf.notes.len(), 1);
        assert!(parse_pipfile_lock("Pipfile.lock", "{\"default\": [}").is_err());
    }

    #[test]
    fn toml_locks_skip_local_and_vcs_sources() {
        let uv = "version = 1\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\n[[package]]\nname = \"jinja2\"\nversion = \"2.10\"\nsource = { registry = \"https://pypi.org/simple\" }\n\n[[package]]\nname = \"forked\"\nversion = \"1.0\"\nsource = { git = \"https://example.org/f.git\" }\n";
        let lf = parse_toml_lock("uv.lock", Kind::UvLock, uv).unwrap();
        assert_eq!(pins(&lf), [("jinja2".into(), "2.10".into(), 8)]);
        assert!(
            lf.notes[0].contains("forked (git, line 13)"),
            "{:?}",
            lf.notes
        );
        let poetry = "[[package]]\nname = \"django\"\nversion = \"3.2.0\"\n\n[package.dependencies]\nasgiref = \">=3.3.2\"\n\n[[package]]\nname = \"x\"\nversion = \"1.0\"\n\n[package.source]\ntype = \"git\"\nurl = \"https://example.org/x.git\"\n";
        let lf = parse_toml_lock("poetry.lock", Kind::PoetryLock, poetry).unwrap();
        assert_eq!(pins(&lf), [("django".into(), "3.2.0".into(), 1)]);
        let e = parse_toml_lock(
            "pdm.lock",
            Kind::PdmLock,
            "[[package]]\nname = \"x\"\nversion = 1.0.0\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("pdm.lock:3:"), "{e}");
    }

    /// A comment line ending in `\\` does not swallow the next line (pip's rule);
    /// a requirement's own trailing comment does not stop a continuation.
    #[test]
    fn comment_lines_never_continue() {
        let text =
            "# pinned below, see ticket \\\nattrs==23.1.0\nsix==1.16.0 \\\n  # why\nidna==3.4\n";
        let (lf, _, errors) = parse_requirements("requirements.txt", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            pins(&lf),
            [
                ("attrs".into(), "23.1.0".into(), 2),
                ("six".into(), "1.16.0".into(), 3),
                ("idna".into(), "3.4".into(), 5)
            ]
        );
    }

    #[test]
    fn conflict_markers_and_bare_editable_are_errors() {
        let text = "<<<<<<< HEAD\nattrs==23.1.0\n=======\nattrs==23.2.0\n>>>>>>> branch\n-e\n";
        let (lf, _, errors) = parse_requirements("requirements.txt", text);
        let lines: Vec<Option<usize>> = errors
            .iter()
            .map(|e| match e {
                Error::Parse { line, .. } => *line,
                _ => None,
            })
            .collect();
        assert_eq!(lines, [Some(1), Some(3), Some(5), Some(6)], "{errors:?}");
        assert_eq!(lf.packages.len(), 2);
    }

    #[test]
    fn pipfile_lock_wrong_types_are_errors() {
        let e = parse_pipfile_lock("Pipfile.lock", r#"{"default": []}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not an object"), "{e}");
        let e = parse_pipfile_lock("Pipfile.lock", r#"{"default": {"six": {"version": 1}}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a string"), "{e}");
    }
}

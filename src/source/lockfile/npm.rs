//! npm lockfiles: `package-lock.json`/`npm-shrinkwrap.json` (v1 nested
//! `dependencies`, v2/v3 flat `packages`), `yarn.lock` (v1 and berry) and
//! `pnpm-lock.yaml` (v5 to v9). Yarn and pnpm files are read line by line:
//! their entries are regular, and that keeps each entry's line for free.

use super::{Ecosystem, Error, Lockfile, Package, json};

fn pkg(rel: &str, name: &str, version: &str, line: usize) -> Package {
    Package {
        ecosystem: Ecosystem::Npm,
        name: name.to_string(),
        version: version.trim_start_matches(['v', '=']).to_string(),
        path: rel.to_string(),
        line,
    }
}

/// A `resolved`/`version` that points outside the registry (git, file, link, tarball URL).
fn not_registry(v: &str) -> bool {
    let v = v.trim();
    if v.starts_with("http:") || v.starts_with("https:") {
        // Registry tarballs look like `https://registry/name/-/name-1.2.3.tgz`
        // (a `#sha` or `?query` may follow); GitHub Packages serves them as
        // `https://npm.pkg.github.com/download/@scope/name/1.2.3/<hash>`. A GitLab
        // archive (`/-/archive/…`) or a codeload URL is a git snapshot.
        let path = v.split(['#', '?']).next().unwrap_or(v);
        let tarball = path.contains("/-/")
            && path.ends_with(".tgz")
            && !path.contains("/-/archive/")
            && !path.contains("codeload.github.com");
        return !(tarball || path.contains("://npm.pkg.github.com/download/"));
    }
    v.starts_with("git")
        || v.starts_with("file:")
        || v.starts_with("link:")
        || v.starts_with("github:")
}

fn note_skipped(out: &mut Lockfile, rel: &str, skipped: &mut [String]) {
    if !skipped.is_empty() {
        skipped.sort();
        out.notes.push(format!(
            "{rel}: {} package(s) not from the npm registry (git, file, link or URL), not audited: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
}

/// `package-lock.json` or `npm-shrinkwrap.json`, v1 to v3.
pub(super) fn parse_package_lock(rel: &str, text: &str) -> Result<Lockfile, Error> {
    let (doc, mut out) = super::json_lockfile(rel, text)?;
    let mut skipped = Vec::new();
    if let Some(packages) = super::json_section(rel, &doc, "packages")? {
        // v2/v3: keys are install paths, "node_modules/a/node_modules/@s/b".
        for (key, line, entry) in packages.members() {
            if key.is_empty() || entry.get("link").is_some_and(json::J::is_true) {
                continue; // the root project, or a symlink to a workspace package
            }
            let Some(at) = key.rfind("node_modules/") else {
                continue; // a workspace package's own directory
            };
            let name = entry
                .get("name")
                .and_then(json::J::as_str)
                .unwrap_or(&key[at + "node_modules/".len()..]);
            let resolved = entry.get("resolved").and_then(json::J::as_str);
            match entry.get("version").and_then(json::J::as_str) {
                Some(v) if !not_registry(v) && !resolved.is_some_and(not_registry) => {
                    out.packages.push(pkg(rel, name, v, *line));
                }
                v => skipped.push(format!("{name} {} (line {line})", v.unwrap_or("?"))),
            }
        }
    } else if let Some(deps) = super::json_section(rel, &doc, "dependencies")? {
        walk_v1(rel, deps, &mut out, &mut skipped, 0);
    }
    note_skipped(&mut out, rel, &mut skipped);
    Ok(out)
}

/// v1: `dependencies` nested like `node_modules`.
fn walk_v1(rel: &str, deps: &json::J, out: &mut Lockfile, skipped: &mut Vec<String>, depth: u32) {
    if depth > 64 {
        return;
    }
    for (name, line, entry) in deps.members() {
        let version = entry.get("version").and_then(json::J::as_str).unwrap_or("");
        if let Some(alias) = version.strip_prefix("npm:") {
            // "alias": { "version": "npm:real-name@1.2.3" }
            match alias.rfind('@').filter(|&i| i > 0) {
                Some(i) => out
                    .packages
                    .push(pkg(rel, &alias[..i], &alias[i + 1..], *line)),
                None => skipped.push(format!("{name} {version} (line {line})")),
            }
        } else if version.is_empty() || not_registry(version) {
            skipped.push(format!("{name} {version} (line {line})"));
        } else {
            out.packages.push(pkg(rel, name, version, *line));
        }
        if let Some(nested) = entry.get("dependencies") {
            walk_v1(rel, nested, out, skipped, depth + 1);
        }
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(s)
}

/// Split `name@rest` where `name` may be `@scope/name`.
fn split_at_name(spec: &str) -> Option<(&str, &str)> {
    let first = spec.chars().next()?.len_utf8();
    let i = spec[first..].find('@')? + first;
    Some((&spec[..i], &spec[i + 1..]))
}

/// `yarn.lock`: v1 (`version "1.2.3"`) or berry (`__metadata:`, `resolution: "name@npm:1.2.3"`).
pub(super) fn parse_yarn_lock(rel: &str, text: &str) -> Result<Lockfile, Error> {
    let berry = text.lines().any(|l| l.starts_with("__metadata:"));
    let mut out = Lockfile {
        path: rel.to_string(),
        ..Default::default()
    };
    let mut skipped = Vec::new();
    // (header line, first spec, version, resolved/resolution)
    let mut entries: Vec<(usize, String, Option<String>, Option<String>)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            let Some(head) = line.trim_end().strip_suffix(':') else {
                return Err(Error::parse(
                    rel,
                    Some(n),
                    "expected an entry header ending with ':'",
                ));
            };
            let first = head.split(',').next().unwrap_or(head);
            entries.push((n, unquote(first).to_string(), None, None));
            continue;
        }
        let Some(e) = entries.last_mut() else {
            return Err(Error::parse(rel, Some(n), "indented line before any entry"));
        };
        // Only the entry's own fields (two spaces), not nested dependency maps.
        if line.starts_with("    ") {
            continue;
        }
        let t = line.trim();
        let (k, v) = if berry {
            match t.split_once(':') {
                Some((k, v)) => (k.trim(), unquote(v)),
                None => continue,
            }
        } else {
            match t.split_once(' ') {
                Some((k, v)) => (unquote(k), unquote(v)),
                None => continue,
            }
        };
        match k {
            "version" => e.2 = Some(v.to_string()),
            "resolved" | "resolution" => e.3 = Some(v.to_string()),
            _ => {}
        }
    }
    for (line, spec, version, resolved) in entries {
        if spec == "__metadata" {
            continue;
        }
        if berry {
            let Some(res) = resolved else {
                return Err(Error::parse(rel, Some(line), "entry without a resolution"));
            };
            let Some((name, rest)) = split_at_name(&res) else {
                return Err(Error::parse(
                    rel,
                    Some(line),
                    format!("cannot read resolution {res:?}"),
                ));
            };
            if let Some(v) = rest.strip_prefix("npm:") {
                // Berry may append the tarball's address to a version from another
                // registry: `1.2.0::__archiveUrl=https%3A…`.
                let v = v.split("::").next().unwrap_or(v);
                out.packages.push(pkg(rel, name, v, line));
            } else if rest.starts_with("workspace:") || rest.starts_with("patch:") {
                // Workspace members are the project; a patch wraps a package listed on its own.
            } else {
                skipped.push(format!("{name} ({rest}, line {line})"));
            }
            continue;
        }
        let Some((mut name, range)) = split_at_name(&spec) else {
            return Err(Error::parse(
                rel,
                Some(line),
                format!("cannot read package spec {spec:?}"),
            ));
        };
        if let Some(alias) = range.strip_prefix("npm:") {
            // "alias@npm:real@^1.0.0"
            if let Some((real, _)) = split_at_name(alias) {
                name = real;
            }
        }
        let Some(v) = version else {
            return Err(Error::parse(rel, Some(line), format!("{name}: no version")));
        };
        if resolved.as_deref().is_some_and(not_registry) || not_registry(range) {
            skipped.push(format!("{name} {v} (line {line})"));
            continue;
        }
        out.packages.push(pkg(rel, name, &v, line));
    }
    note_skipped(&mut out, rel, &mut skipped);
    Ok(out)
}

/// `pnpm-lock.yaml`: the top-level `packages:` map. Keys are `/name/1.2.3_peer`
/// (v5), `/name@1.2.3(peer@1)` (v6) or `name@1.2.3` (v9).
pub(super) fn parse_pnpm_lock(rel: &str, text: &str) -> Result<Lockfile, Error> {
    let mut out = Lockfile {
        path: rel.to_string(),
        ..Default::default()
    };
    let mut skipped = Vec::new();
    let mut lock_version: Option<f64> = None;
    let mut in_packages = false;
    let mut indent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim_end();
        if t.trim_start().is_empty() || t.trim_start().starts_with('#') {
            continue;
        }
        if !t.starts_with(' ') {
            if let Some(v) = t.strip_prefix("lockfileVersion:") {
                lock_version = unquote(v).parse().ok();
                if lock_version.is_none() {
                    return Err(Error::parse(
                        rel,
                        Some(n),
                        format!("bad lockfileVersion {v:?}"),
                    ));
                }
            }
            in_packages = t == "packages:";
            indent = None;
            continue;
        }
        if !in_packages {
            continue;
        }
        let depth = t.len() - t.trim_start().len();
        let this_indent = *indent.get_or_insert(depth);
        if depth != this_indent {
            continue; // a field of the current package
        }
        let Some(key) = t.trim().strip_suffix(':') else {
            // `name@1.0.0: {}` on one line (v9 flow style) or a syntax error.
            match t.trim().split_once(": ") {
                Some((k, _)) => {
                    parse_pnpm_key(rel, unquote(k), lock_version, n, &mut out, &mut skipped)?
                }
                None => return Err(Error::parse(rel, Some(n), "expected a package key")),
            }
            continue;
        };
        parse_pnpm_key(rel, unquote(key), lock_version, n, &mut out, &mut skipped)?;
    }
    if lock_version.is_none() {
        return Err(Error::parse(
            rel,
            None,
            "no lockfileVersion: not a pnpm lockfile",
        ));
    }
    note_skipped(&mut out, rel, &mut skipped);
    Ok(out)
}

fn parse_pnpm_key(
    rel: &str,
    key: &str,
    lock_version: Option<f64>,
    line: usize,
    out: &mut Lockfile,
    skipped: &mut Vec<String>,
) -> Result<(), Error> {
    // Up to v6, registry packages are keyed `/name…`; anything else is a git,
    // tarball or file dependency (`github.com/org/repo/<sha>`, `file:../x`).
    // (pnpm 9's pre-releases wrote v7 keys without the slash, like v9.)
    if lock_version.is_some_and(|v| v < 7.0) && !key.starts_with('/') {
        skipped.push(format!("{key} (line {line})"));
        return Ok(());
    }
    let k = key.strip_prefix('/').unwrap_or(key);
    // Peer-dependency suffixes: `(react@18.0.0)` (v6+) or `_react@18.0.0` (v5).
    let k = k.split('(').next().unwrap_or(k);
    let slash_style = lock_version.is_some_and(|v| v < 6.0);
    let parsed = if slash_style {
        k.rfind('/').map(|i| {
            let v = &k[i + 1..];
            (&k[..i], v.split('_').next().unwrap_or(v))
        })
    } else {
        split_at_name(k)
    };
    match parsed {
        Some((name, version))
            if !name.is_empty()
                && !version.is_empty()
                && !version.contains([':', '/'])
                && !name.contains(':') =>
        {
            out.packages.push(pkg(rel, name, version, line));
        }
        _ if k.contains([':', '/']) => skipped.push(format!("{key} (line {line})")),
        _ => {
            return Err(Error::parse(
                rel,
                Some(line),
                format!("cannot read package key {key:?}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::source::lockfile::testing::pins;

    fn t(n: &str, v: &str, l: usize) -> (String, String, usize) {
        (n.into(), v.into(), l)
    }

    #[test]
    fn package_lock_v3_and_v1() {
        let v3 = r#"{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "": { "name": "app", "version": "1.0.0" },
    "node_modules/lodash": { "version": "4.17.15" },
    "node_modules/@scope/pkg": { "version": "1.0.0" },
    "node_modules/a/node_modules/lodash": { "version": "3.10.1" },
    "node_modules/aliased": { "name": "minimist", "version": "1.2.0" },
    "node_modules/ws-pkg": { "resolved": "packages/ws-pkg", "link": true },
    "packages/ws-pkg": { "version": "0.0.1" },
    "node_modules/gitdep": { "version": "1.0.0", "resolved": "git+ssh://git@example.com/x.git#abc" }
  }
}"#;
        let lf = parse_package_lock("package-lock.json", v3).unwrap();
        assert_eq!(
            pins(&lf),
            [
                t("lodash", "4.17.15", 6),
                t("@scope/pkg", "1.0.0", 7),
                t("lodash", "3.10.1", 8),
                t("minimist", "1.2.0", 9)
            ]
        );
        assert!(lf.notes[0].contains("gitdep"), "{:?}", lf.notes);
        let v1 = r#"{
  "lockfileVersion": 1,
  "dependencies": {
    "a": {
      "version": "1.0.0",
      "dependencies": {
        "lodash": { "version": "3.10.1" }
      }
    },
    "b": { "version": "npm:minimist@1.2.0" },
    "c": { "version": "file:../c" }
  }
}"#;
        let lf = parse_package_lock("npm-shrinkwrap.json", v1).unwrap();
        assert_eq!(
            pins(&lf),
            [
                t("a", "1.0.0", 4),
                t("lodash", "3.10.1", 7),
                t("minimist", "1.2.0", 10)
            ]
        );
        assert_eq!(lf.notes.len(), 1);
    }

    #[test]
    fn yarn_v1_and_berry() {
        let v1 = "# yarn lockfile v1\n\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.10.4\":\n  version \"7.12.13\"\n  resolved \"https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz\"\n  dependencies:\n    \"@babel/highlight\" \"^7.12.13\"\n\nlodash@^4.17.0:\n  version \"4.17.15\"\n\nmy-alias@npm:minimist@^1.2.0:\n  version \"1.2.0\"\n\nfromgit@git+https://example.com/x.git:\n  version \"1.0.0\"\n  resolved \"git+https://example.com/x.git#abc\"\n";
        let lf = parse_yarn_lock("yarn.lock", v1).unwrap();
        assert_eq!(
            pins(&lf),
            [
                t("@babel/code-frame", "7.12.13", 4),
                t("lodash", "4.17.15", 10),
                t("minimist", "1.2.0", 13)
            ]
        );
        assert_eq!(lf.notes.len(), 1);
        let berry = "# This file is generated by running \"yarn install\"\n\n__metadata:\n  version: 6\n  cacheKey: 8\n\n\"@babel/code-frame@npm:^7.0.0, @babel/code-frame@npm:^7.10.4\":\n  version: 7.12.13\n  resolution: \"@babel/code-frame@npm:7.12.13\"\n  dependencies:\n    \"@babel/highlight\": ^7.12.13\n  checksum: abc\n  languageName: node\n  linkType: hard\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n\n\"lodash@npm:^4.17.0\":\n  version: 4.17.15\n  resolution: \"lodash@npm:4.17.15\"\n";
        let lf = parse_yarn_lock("yarn.lock", berry).unwrap();
        assert_eq!(
            pins(&lf),
            [
                t("@babel/code-frame", "7.12.13", 7),
                t("lodash", "4.17.15", 20)
            ]
        );
        assert!(parse_yarn_lock("yarn.lock", "  version \"1\"\n").is_err());
        assert!(parse_yarn_lock("yarn.lock", "garbage line\n").is_err());
    }

    #[test]
    fn pnpm_v5_v6_v9() {
        let v5 = "lockfileVersion: 5.4\n\nspecifiers:\n  lodash: ^4.17.0\n\npackages:\n\n  /lodash/4.17.15:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /@scope/pkg/1.0.0_react@17.0.2:\n    resolution: {integrity: sha512-y}\n";
        let lf = parse_pnpm_lock("pnpm-lock.yaml", v5).unwrap();
        assert_eq!(
            pins(&lf),
            [t("lodash", "4.17.15", 8), t("@scope/pkg", "1.0.0", 12)]
        );
        let v6 = "lockfileVersion: '6.0'\n\npackages:\n\n  /lodash@4.17.15:\n    resolution: {integrity: sha512-x}\n\n  /@scope/pkg@1.0.0(react@18.0.0):\n    resolution: {integrity: sha512-y}\n";
        let lf = parse_pnpm_lock("pnpm-lock.yaml", v6).unwrap();
        assert_eq!(
            pins(&lf),
            [t("lodash", "4.17.15", 5), t("@scope/pkg", "1.0.0", 8)]
        );
        let v9 = "lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies:\n      lodash:\n        specifier: ^4.17.0\n        version: 4.17.15\n\npackages:\n\n  '@scope/pkg@1.0.0':\n    resolution: {integrity: sha512-y}\n\n  lodash@4.17.15:\n    resolution: {integrity: sha512-x}\n\n  gitdep@https://codeload.github.com/x/y/tar.gz/abc:\n    resolution: {tarball: https://codeload.github.com/x/y/tar.gz/abc}\n\nsnapshots:\n\n  lodash@4.17.15: {}\n";
        let lf = parse_pnpm_lock("pnpm-lock.yaml", v9).unwrap();
        assert_eq!(
            pins(&lf),
            [t("@scope/pkg", "1.0.0", 12), t("lodash", "4.17.15", 15)]
        );
        assert_eq!(lf.notes.len(), 1, "{:?}", lf.notes);
        assert!(parse_pnpm_lock("pnpm-lock.yaml", "packages:\n  x\n").is_err());
    }

    /// Names that do not start with an ASCII character are read, not a panic.
    #[test]
    fn non_ascii_names_do_not_panic() {
        let lf = parse_yarn_lock(
            "yarn.lock",
            "\u{e9}@1:\n  version \"1.0.0\"\n\nx@npm:\u{fc}@^1:\n  version \"2.0.0\"\n",
        )
        .unwrap();
        assert_eq!(
            pins(&lf),
            [t("\u{e9}", "1.0.0", 1), t("\u{fc}", "2.0.0", 4)]
        );
        let lf = parse_pnpm_lock("pnpm-lock.yaml", "lockfileVersion: '6.0'\n\npackages:\n\n  /\u{e9}@1.0.0:\n    resolution: {integrity: sha512-x}\n").unwrap();
        assert_eq!(pins(&lf), [t("\u{e9}", "1.0.0", 5)]);
        assert!(split_at_name("\u{e9}").is_none());
        assert!(split_at_name("").is_none());
    }

    /// Git, tarball and file packages of pnpm v5 and v6 are noted, never read
    /// as registry packages nor a reason to reject the lockfile.
    #[test]
    fn pnpm_non_registry_keys_are_noted() {
        let v5 = "lockfileVersion: 5.4\n\npackages:\n\n  /lodash/4.17.15:\n    resolution: {integrity: sha512-x}\n\n  github.com/my-org/mocks/590f0e2d1d3c8b1f1a1f9d0e9c8b7a6f5e4d3c2b:\n    resolution: {tarball: https://codeload.github.com/my-org/mocks/tar.gz/590f}\n    name: mocks\n    version: 1.0.0\n\n  registry.example.com/tarball/-/tarball-2.0.0.tgz:\n    resolution: {tarball: https://registry.example.com/tarball/-/tarball-2.0.0.tgz}\n";
        let lf = parse_pnpm_lock("pnpm-lock.yaml", v5).unwrap();
        assert_eq!(pins(&lf), [t("lodash", "4.17.15", 5)]);
        assert!(lf.notes[0].contains("2 package(s)"), "{:?}", lf.notes);
        let v6 = "lockfileVersion: '6.0'\n\npackages:\n\n  /lodash@4.17.15:\n    resolution: {integrity: sha512-x}\n\n  github.com/me/mygit/0123456789abcdef0123456789abcdef01234567:\n    resolution: {tarball: https://codeload.github.com/me/mygit/tar.gz/0123}\n\n  file:../local:\n    resolution: {directory: ../local, type: directory}\n";
        let lf = parse_pnpm_lock("pnpm-lock.yaml", v6).unwrap();
        assert_eq!(pins(&lf), [t("lodash", "4.17.15", 5)]);
        assert!(
            lf.notes[0].contains("github.com/me/mygit"),
            "{:?}",
            lf.notes
        );
        assert!(lf.notes[0].contains("file:../local"), "{:?}", lf.notes);
    }

    /// Berry's `::__archiveUrl=` suffix (packages from another registry) is not
    /// part of the version.
    #[test]
    fn yarn_berry_archive_url_suffix() {
        let berry = "__metadata:\n  version: 8\n\n\"@acme/private@npm:^1.0.0\":\n  version: 1.2.0\n  resolution: \"@acme/private@npm:1.2.0::__archiveUrl=https%3A%2F%2Fnpm.pkg.github.com%2Fdownload%2F%40acme%2Fprivate%2F1.2.0%2Fabc\"\n";
        let lf = parse_yarn_lock("yarn.lock", berry).unwrap();
        assert_eq!(pins(&lf), [t("@acme/private", "1.2.0", 4)]);
    }

    #[test]
    fn registry_tarballs_and_git_archives() {
        assert!(!not_registry(
            "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz"
        ));
        assert!(!not_registry(
            "https://registry.yarnpkg.com/@babel/core/-/core-7.0.0.tgz#0123abcd"
        ));
        assert!(!not_registry(
            "https://npm.pkg.github.com/download/@owner/ghp/1.5.0/0123abcd"
        ));
        assert!(not_registry(
            "https://gitlab.com/me/gl/-/archive/v2.0.0/gl-v2.0.0.tar.gz"
        ));
        assert!(not_registry("https://codeload.github.com/x/y/tar.gz/abc"));
        assert!(not_registry("https://example.com/downloads/pkg-1.0.0.tgz"));
        assert!(not_registry("git+ssh://git@example.com/x.git#abc"));
    }

    /// A section of the wrong type is an error, not an empty lockfile.
    #[test]
    fn wrong_section_types_are_errors() {
        for text in [
            r#"{"lockfileVersion": 3, "packages": "oops"}"#,
            r#"{"lockfileVersion": 1,
"dependencies": []}"#,
        ] {
            let e = parse_package_lock("package-lock.json", text)
                .unwrap_err()
                .to_string();
            assert!(e.contains("is not an object"), "{e}");
        }
    }
}

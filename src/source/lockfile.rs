//! Lockfile discovery and parsing: finds every supported lockfile under a
//! path (the same `ignore` walk as [`super::fs`], never entering `node_modules/`)
//! and turns each into pinned [`Package`]s, each with the 1-based line of its
//! entry so advisory findings point at the right place.
//!
//! This module only reads and parses. It never matches advisories (that is
//! `audit`), and a malformed lockfile is an [`Error`] with its path (and line
//! where known), never a panic; the other lockfiles are still parsed.
//!
//! Supported: `Cargo.lock` (v1–v4, via `cargo-lock`); `requirements*.txt`,
//! `poetry.lock`, `uv.lock`, `Pipfile.lock`, `pdm.lock`; `package-lock.json`
//! (v1–v3), `npm-shrinkwrap.json`, `yarn.lock` (v1 and berry), `pnpm-lock.yaml`.

mod cargo;
mod json;
mod npm;
mod python;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

/// A package registry whose versions and names have their own rules.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub enum Ecosystem {
    /// Rust crates (semver).
    #[serde(rename = "crates.io")]
    CratesIo,
    /// Python packages (PEP 440 versions, PEP 503 names).
    #[serde(rename = "PyPI")]
    PyPI,
    /// npm packages (semver, `@scope/name`).
    #[serde(rename = "npm")]
    Npm,
}

impl Ecosystem {
    /// Every ecosystem preflight audits.
    pub const ALL: [Ecosystem; 3] = [Ecosystem::CratesIo, Ecosystem::PyPI, Ecosystem::Npm];

    /// The OSV ecosystem name.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
        }
    }

    /// From an OSV `affected[].package.ecosystem` (a `:suffix` is ignored).
    pub fn from_osv(s: &str) -> Option<Ecosystem> {
        match s.split(':').next().unwrap_or(s) {
            "crates.io" => Some(Ecosystem::CratesIo),
            "PyPI" => Some(Ecosystem::PyPI),
            "npm" => Some(Ecosystem::Npm),
            _ => None,
        }
    }

    /// The name as the registry compares it: lowercase for crates, PEP 503 for
    /// PyPI (runs of `-_.` become `-`), `@scope/name` (with `%2f` decoded) for npm.
    pub fn normalize_name(self, name: &str) -> String {
        let name = name.trim();
        match self {
            Ecosystem::CratesIo => name.to_ascii_lowercase(),
            Ecosystem::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut sep = false;
                for c in name.chars() {
                    if matches!(c, '-' | '_' | '.') {
                        sep = true;
                    } else {
                        if sep && !out.is_empty() {
                            out.push('-');
                        }
                        sep = false;
                        out.push(c.to_ascii_lowercase());
                    }
                }
                out
            }
            Ecosystem::Npm => name.replace("%2f", "/").replace("%2F", "/"),
        }
    }
}

impl std::fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One pinned package version in one lockfile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Package {
    /// Registry.
    pub ecosystem: Ecosystem,
    /// Name as written in the lockfile.
    pub name: String,
    /// Version as written (without `==` or `v`).
    pub version: String,
    /// Lockfile path relative to the scan root, `/`-separated.
    pub path: String,
    /// 1-based line of the package's entry.
    pub line: usize,
}

/// The supported lockfile formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `Cargo.lock`.
    CargoLock,
    /// `requirements*.txt` (and files it includes with `-r`).
    Requirements,
    /// `poetry.lock`.
    PoetryLock,
    /// `uv.lock`.
    UvLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `pdm.lock`.
    PdmLock,
    /// `package-lock.json` or `npm-shrinkwrap.json`.
    PackageLock,
    /// `yarn.lock` (v1 or berry).
    YarnLock,
    /// `pnpm-lock.yaml`.
    PnpmLock,
}

impl Kind {
    /// The format of a file by its name, if it is a lockfile.
    pub fn detect(file_name: &str) -> Option<Kind> {
        Some(match file_name {
            "Cargo.lock" => Kind::CargoLock,
            "poetry.lock" => Kind::PoetryLock,
            "uv.lock" => Kind::UvLock,
            "Pipfile.lock" => Kind::PipfileLock,
            "pdm.lock" => Kind::PdmLock,
            "package-lock.json" | "npm-shrinkwrap.json" => Kind::PackageLock,
            "yarn.lock" => Kind::YarnLock,
            "pnpm-lock.yaml" => Kind::PnpmLock,
            n if n.starts_with("requirements") && n.ends_with(".txt") => Kind::Requirements,
            _ => return None,
        })
    }

    /// The ecosystem whose packages this format pins.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            Kind::CargoLock => Ecosystem::CratesIo,
            Kind::Requirements
            | Kind::PoetryLock
            | Kind::UvLock
            | Kind::PipfileLock
            | Kind::PdmLock => Ecosystem::PyPI,
            Kind::PackageLock | Kind::YarnLock | Kind::PnpmLock => Ecosystem::Npm,
        }
    }
}

/// Errors reading or parsing one lockfile; recorded, and the other lockfiles go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// Lockfile path, relative to the scan root.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid lockfile of its kind.
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// Lockfile path, relative to the scan root.
        path: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The walk failed on a path.
    #[error("{path}: {message}")]
    Walk {
        /// Where it failed.
        path: String,
        /// The walker's message.
        message: String,
    },
}

impl Error {
    /// The path the error is about.
    pub fn path(&self) -> &str {
        match self {
            Error::Read { path, .. } | Error::Parse { path, .. } | Error::Walk { path, .. } => path,
        }
    }

    pub(crate) fn parse(path: &str, line: Option<usize>, message: impl Into<String>) -> Error {
        Error::Parse {
            path: path.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// One parsed lockfile.
#[derive(Debug, Clone, Default)]
pub struct Lockfile {
    /// Path relative to the scan root.
    pub path: String,
    /// Pinned packages, in file order.
    pub packages: Vec<Package>,
    /// Things not audited (unpinned requirements, git or path sources), with their line.
    pub notes: Vec<String>,
}

/// Everything found under a root.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Lockfiles found (by kind and path), including those that failed to parse.
    pub lockfiles: Vec<(Kind, String)>,
    /// Pinned packages of every lockfile, sorted and deduplicated.
    pub packages: Vec<Package>,
    /// Notes, sorted and deduplicated.
    pub notes: Vec<String>,
    /// Per-file failures.
    pub errors: Vec<Error>,
}

/// A lockfile file found by the walk.
#[derive(Debug, Clone)]
pub struct Found {
    /// Path to open.
    pub abs: PathBuf,
    /// Path relative to the scan root.
    pub rel: String,
    /// Its format.
    pub kind: Kind,
}

/// Find lockfiles under `root` (a directory, or a single lockfile). Honours
/// `.gitignore` when `respect_ignore`; never enters `.git/` or `node_modules/`.
pub fn find_lockfiles(root: &Path, respect_ignore: bool) -> (Vec<Found>, Vec<Error>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match Kind::detect(&name) {
            Some(kind) => found.push(Found {
                abs: root.to_path_buf(),
                rel: name,
                kind,
            }),
            None => errors.push(Error::parse(
                &name,
                None,
                "not a supported lockfile name (Cargo.lock, requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, pdm.lock, package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml)",
            )),
        }
        return (found, errors);
    }
    let mut b = ignore::WalkBuilder::new(root);
    b.standard_filters(respect_ignore)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "node_modules");
    for r in b.build() {
        match r {
            Ok(e) => {
                if !e.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                let Some(kind) = Kind::detect(&e.file_name().to_string_lossy()) else {
                    continue;
                };
                found.push(Found {
                    rel: super::fs::rel_path(root, e.path()),
                    abs: e.into_path(),
                    kind,
                });
            }
            Err(err) => {
                let path = match &err {
                    ignore::Error::WithPath { path, .. } => super::fs::rel_path(root, path),
                    _ => root.display().to_string(),
                };
                errors.push(Error::Walk {
                    path,
                    message: err.to_string(),
                });
            }
        }
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    (found, errors)
}

/// Find and parse every lockfile under `root`.
pub fn load_all(root: &Path, respect_ignore: bool) -> Discovered {
    let (found, errors) = find_lockfiles(root, respect_ignore);
    parse_found(&found, errors)
}

/// Read and parse lockfiles found by [`find_lockfiles`], in parallel; `errors`
/// are the search's own failures, kept in front of the parse failures.
pub fn parse_found(found: &[Found], mut errors: Vec<Error>) -> Discovered {
    let parsed: Vec<(Result<Lockfile, Error>, Vec<Error>)> = found
        .par_iter()
        .map(|f| {
            if f.kind == Kind::Requirements {
                let (lf, errs) = python::load_requirements(&f.abs, &f.rel);
                (Ok(lf), errs)
            } else {
                (load_lockfile(&f.abs, &f.rel, f.kind), Vec::new())
            }
        })
        .collect();
    let mut out = Discovered::default();
    for (f, (parsed, errs)) in found.iter().zip(parsed) {
        out.lockfiles.push((f.kind, f.rel.clone()));
        errors.extend(errs);
        match parsed {
            Ok(lf) => {
                out.packages.extend(lf.packages);
                out.notes.extend(lf.notes);
            }
            Err(e) => errors.push(e),
        }
    }
    out.packages.sort();
    out.packages.dedup();
    out.notes.sort();
    out.notes.dedup();
    out.errors = errors;
    out
}

/// Read and parse one lockfile (a `requirements*.txt` without following its includes).
pub fn load_lockfile(abs: &Path, rel: &str, kind: Kind) -> Result<Lockfile, Error> {
    let bytes = std::fs::read(abs).map_err(|source| Error::Read {
        path: rel.to_string(),
        source,
    })?;
    let text =
        String::from_utf8(bytes).map_err(|e| Error::parse(rel, None, format!("not UTF-8: {e}")))?;
    parse_lockfile(rel, kind, &text)
}

/// Parse lockfile text of a known kind. Pure: no I/O (`-r` includes are not followed).
pub fn parse_lockfile(rel: &str, kind: Kind, text: &str) -> Result<Lockfile, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match kind {
        Kind::CargoLock => cargo::parse_cargo_lock(rel, text),
        Kind::Requirements => {
            let (lf, _, errors) = python::parse_requirements(rel, text);
            match errors.into_iter().next() {
                Some(e) => Err(e),
                None => Ok(lf),
            }
        }
        Kind::PoetryLock | Kind::UvLock | Kind::PdmLock => python::parse_toml_lock(rel, kind, text),
        Kind::PipfileLock => python::parse_pipfile_lock(rel, text),
        Kind::PackageLock => npm::parse_package_lock(rel, text),
        Kind::YarnLock => npm::parse_yarn_lock(rel, text),
        Kind::PnpmLock => npm::parse_pnpm_lock(rel, text),
    }
}

/// `[[package]]` entries of a TOML lockfile, in file order: (line of the
/// header, `name`, `version`, `source` as written on their own `key = "value"` lines).
pub(crate) fn toml_package_headers(text: &str) -> Vec<TomlHeader> {
    let mut out: Vec<TomlHeader> = Vec::new();
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == "[[package]]";
            if inside {
                out.push(TomlHeader {
                    line: i + 1,
                    ..Default::default()
                });
            }
            continue;
        }
        if !inside {
            continue;
        }
        let Some(h) = out.last_mut() else { continue };
        if let Some((k, v)) = t.split_once('=') {
            let v = v.trim().trim_matches('"').to_string();
            match k.trim() {
                "name" => h.name = v,
                "version" => h.version = v,
                "source" => h.source = v,
                _ => {}
            }
        }
    }
    out
}

/// A `[[package]]` header found by [`toml_package_headers`].
#[derive(Debug, Default, Clone)]
pub(crate) struct TomlHeader {
    pub line: usize,
    pub name: String,
    pub version: String,
    pub source: String,
}

/// Parse a JSON lockfile whose top level must be an object; returns it with an
/// empty [`Lockfile`] for `rel` to fill.
fn json_lockfile(rel: &str, text: &str) -> Result<(json::J, Lockfile), Error> {
    let doc = json::parse(text).map_err(|(l, m)| Error::parse(rel, Some(l), m))?;
    if !matches!(doc, json::J::Obj(_)) {
        return Err(Error::parse(rel, Some(1), "not a JSON object"));
    }
    Ok((
        doc,
        Lockfile {
            path: rel.to_string(),
            ..Default::default()
        },
    ))
}

/// Member `key` of a JSON lockfile's top-level object: absent, or an object
/// (anything else is an error, never an empty section).
fn json_section<'a>(rel: &str, doc: &'a json::J, key: &str) -> Result<Option<&'a json::J>, Error> {
    match doc.members().iter().find(|(k, _, _)| k == key) {
        None => Ok(None),
        Some((_, _, v @ json::J::Obj(_))) => Ok(Some(v)),
        Some((_, line, _)) => Err(Error::parse(
            rel,
            Some(*line),
            format!("{key:?} is not an object"),
        )),
    }
}

/// Helpers shared by the parsers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Lockfile;

    /// (name, version, line) of every package, in order.
    pub fn pins(lf: &Lockfile) -> Vec<(String, String, usize)> {
        lf.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.line))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_per_ecosystem() {
        assert_eq!(
            Ecosystem::PyPI.normalize_name("Foo.Bar__baz"),
            "foo-bar-baz"
        );
        assert_eq!(Ecosystem::PyPI.normalize_name("jw.util"), "jw-util");
        assert_eq!(
            Ecosystem::CratesIo.normalize_name("Serde_JSON"),
            "serde_json"
        );
        assert_eq!(
            Ecosystem::Npm.normalize_name("@types%2fnode"),
            "@types/node"
        );
        assert_eq!(Ecosystem::Npm.normalize_name("JSONStream"), "JSONStream");
    }

    #[test]
    fn kinds_by_file_name() {
        assert_eq!(
            Kind::detect("requirements-dev.txt"),
            Some(Kind::Requirements)
        );
        assert_eq!(Kind::detect("requirements.txt"), Some(Kind::Requirements));
        assert_eq!(Kind::detect("npm-shrinkwrap.json"), Some(Kind::PackageLock));
        assert_eq!(Kind::detect("Cargo.toml"), None);
        assert_eq!(Kind::detect("requirements.in"), None);
    }
}

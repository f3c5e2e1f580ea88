//! Local advisory databases: what kind a directory is, where the defaults
//! live (the user's cache dir), how old each one is, and loading the advisories
//! that can concern a set of packages.
//!
//! A database is parsed whole, in parallel, into the [`Advisory`] model once
//! per state of its files; the result is kept as a prepared index
//! ([`super::index`]) from which later runs read only the records of the
//! packages in their lockfiles. This module reads files; it never matches
//! versions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Error;
use super::advisory::Advisory;
use crate::source::lockfile::Ecosystem;

/// Layouts we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `crates/<name>/RUSTSEC-*.md` (rustsec/advisory-db `main`).
    RustSec,
    /// `vulns/<project>/*.yaml` (pypa/advisory-database).
    PyPa,
    /// Any directory tree of OSV `.json`/`.yaml` records (RustSec's `osv` branch, GHSA, osv.dev exports).
    Osv,
    /// An osv.dev-style `all.zip`: one `<ID>.json` OSV record per entry.
    OsvZip,
}

impl Layout {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::RustSec => "rustsec",
            Layout::PyPa => "pypa",
            Layout::Osv => "osv",
            Layout::OsvZip => "osv-zip",
        }
    }
}

/// One opened database.
#[derive(Debug, Clone)]
pub struct Database {
    /// Short name (the directory name).
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
    /// Its layout.
    pub layout: Layout,
}

/// Names wanted per ecosystem (normalized).
pub type Wanted = BTreeMap<Ecosystem, BTreeSet<String>>;

/// Advisories loaded from one database, and the files that failed.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Advisories that name a wanted package.
    pub advisories: Vec<Advisory>,
    /// Advisory files (or records of an `all.zip`) in the database, parsed or not.
    pub files: usize,
    /// Ecosystems the database has advisories for.
    pub covers: BTreeSet<Ecosystem>,
    /// The newest advisory change in the whole database (`YYYY-MM-DD`).
    pub newest: Option<String>,
    /// Per-file failures.
    pub errors: Vec<Error>,
}

impl Loaded {
    fn failed(e: Error) -> Loaded {
        Loaded {
            errors: vec![e],
            ..Default::default()
        }
    }
}

/// What [`Database::early`] did before the lockfiles were parsed.
pub(crate) enum Early {
    /// Nothing: the database has no advisories for the lockfiles' ecosystems.
    Unconcerned,
    /// Its index, read and current for any run.
    Opened(Box<super::index::Opened>),
    /// No current index: the whole database, parsed (and indexed).
    Parsed(Result<Vec<Parsed>, Error>),
}

/// Recognize the layout of `path`.
pub fn open(path: &Path) -> Result<Database, Error> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let is_zip = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("zip"));
    let usable = meta.is_dir() || (meta.is_file() && is_zip);
    if !usable {
        return Err(Error::Database {
            path: path.to_path_buf(),
            message: "not an advisory database (a directory of advisories, or an OSV all.zip)"
                .into(),
        });
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let name = if meta.is_file() {
        // `<cache>/osv-scanner/PyPI/all.zip` is called after its directory.
        canonical.parent().and_then(|p| p.file_name())
    } else {
        canonical.file_name()
    }
    .map(|n| n.to_string_lossy().into_owned())
    .unwrap_or_else(|| path.display().to_string());
    if meta.is_file() {
        return Ok(Database {
            name,
            path: path.to_path_buf(),
            layout: Layout::OsvZip,
        });
    }
    let layout = if has_subdirs(&path.join("crates")) {
        Layout::RustSec
    } else if has_subdirs(&path.join("vulns")) {
        Layout::PyPa
    } else {
        Layout::Osv
    };
    Ok(Database {
        name,
        path: path.to_path_buf(),
        layout,
    })
}

fn has_subdirs(p: &Path) -> bool {
    std::fs::read_dir(p)
        .is_ok_and(|mut rd| rd.any(|e| e.is_ok_and(|e| e.file_type().is_ok_and(|t| t.is_dir()))))
}

/// One file of a database, with what the index stamp needs to know of it.
#[derive(Debug)]
pub(crate) struct DbFile {
    pub path: PathBuf,
    /// Size and modification time (ns since the epoch); `None` if unknown.
    pub stat: Option<(u64, u128)>,
}

impl DbFile {
    /// `path` with its size and time, following symlinks like the parser does.
    pub(crate) fn stat(path: PathBuf) -> DbFile {
        let meta = std::fs::metadata(&path).ok();
        DbFile::of(path, meta)
    }

    fn of(path: PathBuf, meta: Option<std::fs::Metadata>) -> DbFile {
        let stat = meta.and_then(|m| {
            let t = m
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            Some((m.len(), t.as_nanos()))
        });
        DbFile { path, stat }
    }
}

/// One parsed advisory file, or why it failed.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// For layouts with a directory per package, that package (normalized):
    /// its failures are reported only when the package is wanted.
    pub package: Option<(Ecosystem, String)>,
    /// The advisory, or the file's error.
    pub result: Result<Advisory, Error>,
}

impl Database {
    /// Load the advisories that may concern `wanted` (every advisory with `None`).
    ///
    /// With `wanted`, the database's prepared index ([`super::index`]) answers
    /// when it is current; otherwise the whole database is parsed once, the
    /// index written for the next run, and the wanted part returned.
    pub fn load(&self, wanted: Option<&Wanted>) -> Loaded {
        self.load_opened(wanted, None)
    }

    /// What can be done for this database before the lockfiles are parsed,
    /// given `ecosystems` (those of the lockfiles found): read its index, or,
    /// with no current index, parse it whole (and write the index), since a
    /// parse does not depend on the packages.
    pub(crate) fn early(&self, ecosystems: &BTreeSet<Ecosystem>) -> Early {
        if !self.concerns(|e| ecosystems.contains(&e)) {
            return Early::Unconcerned;
        }
        let cache = super::index::dir();
        match cache.as_ref().and_then(|dir| super::index::open(dir, self)) {
            Some(opened) => Early::Opened(Box::new(opened)),
            None => Early::Parsed(self.parse_and_index(cache.as_deref())),
        }
    }

    /// [`Database::load`] for `wanted`, with what [`Database::early`] did.
    pub(crate) fn load_early(&self, wanted: &Wanted, early: Early) -> Loaded {
        if !self.concerns(|eco| wanted.get(&eco).is_some_and(|n| !n.is_empty())) {
            return Loaded::default();
        }
        match early {
            Early::Unconcerned => Loaded::default(),
            Early::Opened(opened) => self.load_opened(Some(wanted), Some(*opened)),
            Early::Parsed(Ok(all)) => self.not_empty(self.keep_wanted(all, Some(wanted))),
            Early::Parsed(Err(e)) => Loaded::failed(e),
        }
    }

    /// [`Database::load`], with the index already read (by `Database::early`).
    pub fn load_opened(
        &self,
        wanted: Option<&Wanted>,
        opened: Option<super::index::Opened>,
    ) -> Loaded {
        let Some(wanted) = wanted else {
            return match self.parse_all() {
                Ok(all) => self.keep_wanted(all, None),
                Err(e) => Loaded::failed(e),
            };
        };
        if !self.concerns(|eco| wanted.get(&eco).is_some_and(|n| !n.is_empty())) {
            return Loaded::default();
        }
        let cache = super::index::dir();
        let hit = match opened {
            Some(o) => o.answer(self, wanted),
            None => cache
                .as_ref()
                .and_then(|dir| super::index::load(dir, self, wanted)),
        };
        if let Some(hit) = hit {
            return self.not_empty(hit);
        }
        match self.parse_and_index(cache.as_deref()) {
            Ok(all) => self.not_empty(self.keep_wanted(all, Some(wanted))),
            Err(e) => Loaded::failed(e),
        }
    }

    /// Parse every advisory, and write the index into `cache` (the directory
    /// of indexes) when there is one. The files are surveyed before they are
    /// parsed: a change during the parse makes the index stale, never wrong.
    fn parse_and_index(&self, cache: Option<&Path>) -> Result<Vec<Parsed>, Error> {
        let listed = cache.and_then(|_| super::index::survey_with_files(self, false));
        let all = match &listed {
            Some((_, files)) => self.parse_listed(files),
            None => self.parse_all(),
        }?;
        if let (Some(dir), Some((survey, _))) = (cache, &listed) {
            // The index only saves time: failing to write it changes nothing.
            let _ = super::index::write(dir, self, survey, &all);
        }
        Ok(all)
    }

    /// A database without a single advisory file is a mistake (a wrong
    /// `--db`, an empty checkout), never a clean result.
    fn not_empty(&self, l: Loaded) -> Loaded {
        if l.files > 0 {
            return l;
        }
        Loaded::failed(Error::Database {
            path: self.path.clone(),
            message: "holds no advisories (expected RustSec's crates/, PyPA's vulns/, \
                      OSV .json/.yaml records or an osv.dev all.zip)"
                .into(),
        })
    }

    /// Can this database name a package of an ecosystem for which `has` is
    /// true? (A RustSec database has nothing for a project without Cargo.lock.)
    fn concerns(&self, has: impl Fn(Ecosystem) -> bool) -> bool {
        match self.layout {
            Layout::RustSec => has(Ecosystem::CratesIo),
            Layout::PyPa => has(Ecosystem::PyPI),
            Layout::Osv | Layout::OsvZip => Ecosystem::ALL.into_iter().any(has),
        }
    }

    /// The files this database is made of (the archive itself for `all.zip`),
    /// sorted, with their size and modification time: what
    /// [`Database::parse_all`] reads and the index stamp covers.
    pub(crate) fn files(&self) -> Result<Vec<DbFile>, Error> {
        if let Some((dir, _, exts)) = self.package_layout() {
            return self.per_package_files(&dir, exts);
        }
        match self.layout {
            Layout::RustSec | Layout::PyPa => unreachable!("per-package layouts return above"),
            Layout::Osv => Ok(osv_files(&self.path)),
            Layout::OsvZip => Ok(vec![DbFile::of(
                self.path.clone(),
                std::fs::metadata(&self.path).ok(),
            )]),
        }
    }

    /// Parse every advisory of the database, in parallel.
    pub(crate) fn parse_all(&self) -> Result<Vec<Parsed>, Error> {
        self.parse_listed(&self.files()?)
    }

    /// Parse every advisory of the database, its files already listed by
    /// [`Database::files`] (an `all.zip` is read whole whatever `files` says).
    pub(crate) fn parse_listed(&self, files: &[DbFile]) -> Result<Vec<Parsed>, Error> {
        if self.layout == Layout::OsvZip {
            return self.parse_zip();
        }
        let package_eco = match self.layout {
            Layout::RustSec => Some(Ecosystem::CratesIo),
            Layout::PyPa => Some(Ecosystem::PyPI),
            _ => None,
        };
        Ok(files
            .par_iter()
            .map(|f| &f.path)
            .map(|p| Parsed {
                package: package_eco.and_then(|eco| {
                    let dir = p.parent()?.file_name()?.to_string_lossy();
                    Some((eco, eco.normalize_name(&dir)))
                }),
                result: load_file(self.layout, p),
            })
            .collect())
    }

    /// Keep the advisories (and affected entries) that name a wanted package,
    /// and the failures that may hide one.
    pub(crate) fn keep_wanted(&self, parsed: Vec<Parsed>, wanted: Option<&Wanted>) -> Loaded {
        let is_wanted = |eco: &Ecosystem, name: &String| {
            wanted.is_none_or(|w| w.get(eco).is_some_and(|n| n.contains(name)))
        };
        let mut out = Loaded {
            files: parsed.len(),
            ..Default::default()
        };
        out.covers = parsed
            .iter()
            .flat_map(|p| p.result.iter().flat_map(|a| &a.affected))
            .map(|af| af.ecosystem)
            .collect();
        out.newest = newest(parsed.iter().filter_map(|p| p.result.as_ref().ok()));
        for p in parsed {
            match p.result {
                Ok(mut a) => {
                    a.affected.retain(|af| is_wanted(&af.ecosystem, &af.name));
                    if !a.affected.is_empty() {
                        a.database = self.name.clone();
                        out.advisories.push(a);
                    }
                }
                Err(e) => {
                    if p.package.as_ref().is_none_or(|(eco, n)| is_wanted(eco, n)) {
                        out.errors.push(e);
                    }
                }
            }
        }
        out
    }

    /// Every `.json` entry of an `all.zip`, read in order and parsed in parallel.
    fn parse_zip(&self) -> Result<Vec<Parsed>, Error> {
        let fail = |message: String| Error::Database {
            path: self.path.clone(),
            message,
        };
        let file = std::fs::File::open(&self.path).map_err(|source| Error::Read {
            path: self.path.clone(),
            source,
        })?;
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| fail(format!("not a readable zip archive: {e}")))?;
        let mut entries: Vec<(PathBuf, String)> = Vec::with_capacity(zip.len());
        for i in 0..zip.len() {
            let mut f = match zip.by_index(i) {
                Ok(f) => f,
                Err(e) => return Err(fail(format!("zip entry {i}: {e}"))),
            };
            if !f.is_file() || !f.name().ends_with(".json") {
                continue;
            }
            let entry = self.path.join(f.name());
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut f, &mut text) {
                return Err(fail(format!("zip entry {}: {e}", f.name())));
            }
            entries.push((entry, text));
        }
        Ok(entries
            .par_iter()
            .map(|(p, text)| Parsed {
                package: None,
                result: super::osv::parse_json(text).map_err(|message| Error::Advisory {
                    path: p.clone(),
                    message,
                }),
            })
            .collect())
    }

    /// For layouts with a directory per package: the directory holding them,
    /// the ecosystem, and the advisory file extensions.
    pub(crate) fn package_layout(&self) -> Option<(PathBuf, Ecosystem, &'static [&'static str])> {
        match self.layout {
            Layout::RustSec => Some((self.path.join("crates"), Ecosystem::CratesIo, &["md"])),
            Layout::PyPa => Some((
                self.path.join("vulns"),
                Ecosystem::PyPI,
                &["yaml", "yml", "json"],
            )),
            Layout::Osv | Layout::OsvZip => None,
        }
    }

    /// Files under `<root>/<sub>/<package>/` with one of `exts`; package
    /// directories are listed in parallel.
    fn per_package_files(&self, dir: &Path, exts: &[&str]) -> Result<Vec<DbFile>, Error> {
        let mut out: Vec<DbFile> = package_dirs(dir)?
            .par_iter()
            .flat_map_iter(|pkg| package_files(pkg, exts))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// The package directories under `dir` (hidden entries skipped).
pub(crate) fn package_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(rd
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect())
}

/// The advisory files of one package directory (hidden files such as
/// `.DS_Store` skipped), unsorted.
pub(crate) fn package_files(pkg: &Path, exts: &[&str]) -> Vec<DbFile> {
    std::fs::read_dir(pkg)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|f| !f.file_name().to_string_lossy().starts_with('.'))
        .filter(|f| {
            Path::new(&f.file_name())
                .extension()
                .is_some_and(|x| exts.iter().any(|e| x == *e))
        })
        // Followed like the parser follows it: a symlinked advisory is stamped by its target.
        .map(|f| DbFile::stat(f.path()))
        .collect()
}

/// Every `.json`/`.yaml`/`.yml` file under `root`, skipping hidden directories.
fn osv_files(root: &Path) -> Vec<DbFile> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(t) = e.file_type() else { continue };
            let p = e.path();
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file()
                && p.extension()
                    .is_some_and(|x| x == "json" || x == "yaml" || x == "yml")
            {
                out.push(DbFile::of(p, e.metadata().ok()));
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn load_file(layout: Layout, p: &Path) -> Result<Advisory, Error> {
    let bytes = std::fs::read(p).map_err(|source| Error::Read {
        path: p.to_path_buf(),
        source,
    })?;
    // Content, not access: a file that is not UTF-8 is a broken advisory.
    let text = String::from_utf8(bytes).map_err(|e| Error::Advisory {
        path: p.to_path_buf(),
        message: format!("not UTF-8: {e}"),
    })?;
    let parsed = match (layout, p.extension().and_then(|x| x.to_str())) {
        (Layout::RustSec, _) => super::native::parse_rustsec(&text),
        (_, Some("json")) => super::osv::parse_json(&text),
        _ => super::osv::parse_yaml(&text),
    };
    parsed.map_err(|message| Error::Advisory {
        path: p.to_path_buf(),
        message,
    })
}

/// Where the default databases live: `$PREFLIGHT_DB_DIR`, else
/// `<user cache dir>/preflight/advisory-db`.
pub fn default_root() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PREFLIGHT_DB_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    Some(user_cache_dir()?.join("advisory-db"))
}

/// `<user cache dir>/preflight` (XDG on Linux, `~/Library/Caches` on macOS,
/// `%LOCALAPPDATA%` on Windows).
pub fn user_cache_dir() -> Option<PathBuf> {
    let cache = if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Library/Caches"))
    } else if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
    }?;
    Some(cache.join("preflight"))
}

/// The databases under the default root (one directory each), sorted by name.
pub fn default_databases(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// When a database was last updated, from its git checkout (HEAD's commit).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Freshness {
    /// HEAD commit id.
    pub commit: String,
    /// Commit time, seconds since the epoch.
    pub time: i64,
}

/// HEAD commit and time of a database that is a git checkout; `None` otherwise.
pub fn freshness(path: &Path) -> Option<Freshness> {
    let repo = gix::open(path).ok()?;
    let commit = repo.head_commit().ok()?;
    let time = commit.time().ok()?.seconds;
    Some(Freshness {
        commit: commit.id.to_string(),
        time,
    })
}

/// The latest `modified` day of `advisories`: calendar dates only, and none
/// after today (one record dated 9999 must not make a database look new).
pub(crate) fn newest<'a>(advisories: impl Iterator<Item = &'a Advisory>) -> Option<String> {
    let today = super::today();
    advisories
        .filter_map(|a| a.modified.as_deref())
        .filter(|d| super::is_calendar_date(d) && *d <= today.as_str())
        .max()
        .map(str::to_string)
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database's newest day ignores dates in the future and non-dates.
    #[test]
    fn newest_ignores_future_and_malformed_days() {
        let with = |d: &str| Advisory {
            modified: Some(d.into()),
            ..Default::default()
        };
        let advs = [
            with("2020-05-05"),
            with("9999-01-01"),
            with("2021-02-30"),
            with("2019-01-01"),
        ];
        assert_eq!(newest(advs.iter()).as_deref(), Some("2020-05-05"));
        assert_eq!(newest([with("junk")].iter()), None);
    }

    /// Every advisory of the shared snapshots parses (skipped where they are absent).
    #[test]
    fn shared_snapshots_parse_completely() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/advisory-db");
        if !root.exists() {
            eprintln!("skipped: {} is absent", root.display());
            return;
        }
        for (sub, layout, min) in [
            ("rustsec", Layout::RustSec, 1000),
            ("rustsec-osv", Layout::Osv, 1000),
            ("pypa", Layout::PyPa, 2000),
        ] {
            let db = open(&root.join(sub)).unwrap();
            assert_eq!(db.layout, layout, "{sub}");
            let loaded = db.load(None);
            let errs: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
            assert!(
                errs.is_empty(),
                "{sub}: {} errors, first: {:?}",
                errs.len(),
                errs.first()
            );
            assert!(
                loaded.advisories.len() >= min,
                "{sub}: {}",
                loaded.advisories.len()
            );
        }
    }

    #[test]
    fn osv_all_zip_is_read_like_a_directory() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let zpath = dir.path().join("npm").join("all.zip");
        std::fs::create_dir_all(zpath.parent().unwrap()).unwrap();
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let rec = r#"{"id":"OSV-1","summary":"s","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}"#;
        w.start_file("OSV-1.json", opts).unwrap();
        w.write_all(rec.as_bytes()).unwrap();
        w.start_file("OSV-2.json", opts).unwrap();
        w.write_all(b"{ not json").unwrap();
        w.finish().unwrap();
        let db = open(&zpath).unwrap();
        assert_eq!((db.layout, db.name.as_str()), (Layout::OsvZip, "npm"));
        let mut wanted = Wanted::new();
        wanted
            .entry(Ecosystem::Npm)
            .or_default()
            .insert("left-pad".into());
        let l = db.load(Some(&wanted));
        assert_eq!(l.advisories.len(), 1);
        assert_eq!(l.errors.len(), 1, "the broken entry is an error naming it");
        assert!(l.errors[0].to_string().contains("OSV-2.json"));
        std::fs::write(dir.path().join("bad.zip"), b"not a zip").unwrap();
        let l = open(&dir.path().join("bad.zip"))
            .unwrap()
            .load(Some(&wanted));
        assert!(l.errors[0].to_string().contains("zip"), "{:?}", l.errors);
    }
}

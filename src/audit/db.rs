//! Local advisory databases: what kind a directory is, where the defaults
//! live (the user's cache dir), how old each one is, and loading the advisories
//! that can concern a set of packages.
//!
//! Layouts with a directory per package (RustSec's `crates/<name>/`, PyPA's
//! `vulns/<project>/`) are read lazily: only the directories of packages in the
//! lockfiles are opened, which is what keeps an audit far below parsing the
//! whole database. Flat OSV directories and osv.dev `all.zip` archives are
//! parsed whole, in parallel.
//! This module reads files; it never matches versions.

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
    /// Files read.
    pub files: usize,
    /// Per-file failures.
    pub errors: Vec<Error>,
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

impl Database {
    /// Load the advisories that may concern `wanted` (every advisory with `None`).
    pub fn load(&self, wanted: Option<&Wanted>) -> Loaded {
        let files = match self.layout {
            Layout::RustSec => {
                self.per_package_files("crates", Ecosystem::CratesIo, wanted, &["md"])
            }
            Layout::PyPa => {
                self.per_package_files("vulns", Ecosystem::PyPI, wanted, &["yaml", "yml", "json"])
            }
            Layout::Osv => {
                if wanted.is_some_and(|w| w.is_empty()) {
                    Ok(Vec::new())
                } else {
                    Ok(osv_files(&self.path))
                }
            }
            Layout::OsvZip => return self.load_zip(wanted),
        };
        let files = match files {
            Ok(f) => f,
            Err(e) => {
                return Loaded {
                    errors: vec![e],
                    ..Default::default()
                };
            }
        };
        let results: Vec<Result<Advisory, Error>> = files
            .par_iter()
            .map(|p| load_file(self.layout, p))
            .collect();
        self.keep_wanted(files.len(), results, wanted)
    }

    /// Keep the advisories (and affected entries) that name a wanted package.
    fn keep_wanted(
        &self,
        files: usize,
        results: Vec<Result<Advisory, Error>>,
        wanted: Option<&Wanted>,
    ) -> Loaded {
        let mut out = Loaded {
            files,
            ..Default::default()
        };
        for r in results {
            match r {
                Ok(mut a) => {
                    if let Some(wanted) = wanted {
                        a.affected.retain(|af| {
                            wanted
                                .get(&af.ecosystem)
                                .is_some_and(|n| n.contains(&af.name))
                        });
                    }
                    if !a.affected.is_empty() {
                        a.database = self.name.clone();
                        out.advisories.push(a);
                    }
                }
                Err(e) => out.errors.push(e),
            }
        }
        out
    }

    /// Every `.json` entry of an `all.zip`, read in order and parsed in parallel.
    fn load_zip(&self, wanted: Option<&Wanted>) -> Loaded {
        if wanted.is_some_and(|w| w.is_empty()) {
            return Loaded::default();
        }
        let fail = |message: String| Loaded {
            errors: vec![Error::Database {
                path: self.path.clone(),
                message,
            }],
            ..Default::default()
        };
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(source) => {
                return Loaded {
                    errors: vec![Error::Read {
                        path: self.path.clone(),
                        source,
                    }],
                    ..Default::default()
                };
            }
        };
        let mut zip = match zip::ZipArchive::new(std::io::BufReader::new(file)) {
            Ok(z) => z,
            Err(e) => return fail(format!("not a readable zip archive: {e}")),
        };
        let mut entries: Vec<(PathBuf, String)> = Vec::with_capacity(zip.len());
        for i in 0..zip.len() {
            let mut f = match zip.by_index(i) {
                Ok(f) => f,
                Err(e) => return fail(format!("zip entry {i}: {e}")),
            };
            if !f.is_file() || !f.name().ends_with(".json") {
                continue;
            }
            let entry = self.path.join(f.name());
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut f, &mut text) {
                return fail(format!("zip entry {}: {e}", f.name()));
            }
            entries.push((entry, text));
        }
        let results: Vec<Result<Advisory, Error>> = entries
            .par_iter()
            .map(|(p, text)| {
                super::osv::parse_json(text).map_err(|message| Error::Advisory {
                    path: p.clone(),
                    message,
                })
            })
            .collect();
        self.keep_wanted(entries.len(), results, wanted)
    }

    /// Files under `<root>/<sub>/<dir>/` whose normalized dir name is wanted.
    fn per_package_files(
        &self,
        sub: &str,
        eco: Ecosystem,
        wanted: Option<&Wanted>,
        exts: &[&str],
    ) -> Result<Vec<PathBuf>, Error> {
        let names = match wanted {
            Some(w) => match w.get(&eco) {
                Some(n) => Some(n),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let dir = self.path.join(sub);
        let rd = std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        let mut out = Vec::new();
        for e in rd.flatten() {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if n.starts_with('.') || names.is_some_and(|w| !w.contains(&eco.normalize_name(&n))) {
                continue;
            }
            let Ok(files) = std::fs::read_dir(e.path()) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                let fname = f.file_name();
                if fname.to_string_lossy().starts_with('.') {
                    continue; // .DS_Store and friends
                }
                if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                    out.push(p);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Every `.json`/`.yaml`/`.yml` file under `root`, skipping hidden directories.
fn osv_files(root: &Path) -> Vec<PathBuf> {
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
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn load_file(layout: Layout, p: &Path) -> Result<Advisory, Error> {
    let text = std::fs::read_to_string(p).map_err(|source| Error::Read {
        path: p.to_path_buf(),
        source,
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
    Some(cache.join("preflight").join("advisory-db"))
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

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

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

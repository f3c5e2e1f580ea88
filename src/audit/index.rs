//! The prepared index of an advisory database: every advisory already
//! converted to the [`Advisory`] model, in one file in the user's cache, with a
//! table from package to record. A run reads that one file and parses only the
//! records of the packages in its lockfiles, instead of opening and parsing
//! one Markdown/TOML/YAML/JSON file per advisory.
//!
//! The index is written by `preflight db update` and, for any other database
//! (`--db DIR`), by the first audit that finds none. It is only used when its
//! [`Survey`] still matches the files it was built from:
//! - layouts with a directory per package (RustSec `crates/<name>/`, PyPA
//!   `vulns/<project>/`): the modification time of the directory of packages
//!   and of every package directory (a file added or removed anywhere changes
//!   one), and the name, size and modification time (ns) of every advisory
//!   file in the directories that hold advisories for the run's packages (an
//!   edit in place). A 20-package project stats each directory once but reads
//!   only its own packages' files.
//! - flat OSV directories and `all.zip`: the name, size and modification time
//!   of every file.
//! - always: this build's version, the database's path and layout.
//!
//! Adding, removing or editing an advisory file therefore makes the next run
//! that can be affected by it parse the database again and rewrite the index.
//! (As with git's index, an edit that keeps a file's size within the same
//! filesystem timestamp tick as the survey would go unseen.) Symlinked
//! advisory files are stamped by their target.
//! An index that is missing, unreadable, stale or corrupt is never an error: the
//! database is parsed instead. Broken advisory files are stored too, so they
//! are reported on every run, not only the first; while a file cannot be read
//! at all, no index is written.
//!
//! File layout: a magic line, one line of JSON header, then the records
//! (JSON, one after another) that the header's offsets point into.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::Error;
use super::advisory::Advisory;
use super::db::{self, Database, DbFile, Loaded, Parsed, Wanted};
use crate::finding::hex;
use crate::source::lockfile::Ecosystem;

/// First line of every index file; a new format gets a new magic.
const MAGIC: &[u8] = b"preflight-advisory-index 5\n";

/// The state of a database's files that an index was built from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Survey {
    /// Build version, layout and path of the database.
    build: String,
    /// Per-package layouts: modification time (ns) of the directory of packages.
    top: Option<u128>,
    /// Per-package layouts: every package directory and its modification time
    /// (ns), which changes when a file is added to or removed from it.
    dirs: Vec<(String, u128)>,
    /// Per-package layouts: normalized package name → (directory name, stamp
    /// of its files, the files' names) of the directories named after it. The
    /// names let a run stat the files without listing the directory again
    /// (the directory's time, checked first, says the names are unchanged).
    packages: BTreeMap<String, Vec<PackageDir>>,
    /// Flat layouts: stamp of every file.
    files: Option<String>,
}

/// One package directory of a per-package layout, as surveyed. Two are equal
/// when name and stamp are (the stamp covers the files' names).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PackageDir {
    /// Directory name.
    name: String,
    /// Stamp of its advisory files ([`files_stamp`]).
    stamp: String,
    /// Its advisory files' names, so a run can stat them without listing the
    /// directory; `None` when a name is not UTF-8, or when the directory
    /// changed so shortly before the survey that a file may have been added
    /// in the same timestamp tick after it was listed (then a run lists it).
    files: Option<Vec<String>>,
}

impl PartialEq for PackageDir {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.stamp) == (&other.name, &other.stamp)
    }
}

impl Eq for PackageDir {}

/// A directory changed less than this long (ns) before a survey may gain a
/// file in the same timestamp tick after it was listed (ticks are up to 2 s
/// on some file systems).
const RACY_NS: u128 = 2_000_000_000;

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    survey: Survey,
    /// `(offset, length)` of each record in the body.
    records: Vec<(u64, u64)>,
    /// `"<ecosystem>\0<normalized name>"` → records that name the package.
    packages: HashMap<String, Vec<u32>>,
    /// Files that failed to parse when the index was written.
    errors: Vec<StoredError>,
    /// Per-package layouts: normalized package name → the (normalized) names
    /// of other package directories that hold an advisory naming it.
    filed_under: BTreeMap<String, Vec<String>>,
    /// The newest advisory change in the database.
    newest: Option<String>,
}

/// A file whose content is not a valid advisory. (Files that could not be
/// read are never stored: their cause, such as permissions, is not in the
/// stamp, so an index is not written while one exists.)
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredError {
    package: Option<(Ecosystem, String)>,
    path: PathBuf,
    message: String,
}

fn key(eco: Ecosystem, name: &str) -> String {
    format!("{}\0{name}", eco.as_str())
}

/// Where index files live: `$PREFLIGHT_CACHE_DIR/index`, else
/// `<user cache dir>/preflight/index`.
pub fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PREFLIGHT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("index"));
    }
    super::db::user_cache_dir().map(|c| c.join("index"))
}

/// The index file of `db` in `dir` (one per database path).
fn path_for(dir: &Path, db: &Database) -> PathBuf {
    let mut h = Sha256::new();
    h.update(canonical(db).as_os_str().as_encoded_bytes());
    h.update(db.layout.as_str());
    let digest = hex(&h.finalize()[..16]);
    // The name only helps a reader of the cache: keep it a plain file name.
    let name: String = db
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    dir.join(format!("{name}-{digest}.idx"))
}

/// The database's path with symlinks and `.` resolved, so two spellings of
/// one database share one index.
fn canonical(db: &Database) -> PathBuf {
    db.path.canonicalize().unwrap_or_else(|_| db.path.clone())
}

fn build_id(db: &Database) -> String {
    format!(
        "{}\0{}\0{}",
        env!("CARGO_PKG_VERSION"),
        db.layout.as_str(),
        canonical(db).display()
    )
}

fn mtime(p: &Path) -> Option<u128> {
    epoch_ns(std::fs::metadata(p).ok()?.modified().ok()?)
}

fn epoch_ns(t: std::time::SystemTime) -> Option<u128> {
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos())
}

/// Hash of files' names (relative to `base`), sizes and modification times;
/// `None` if one could not be stat'ed.
fn files_stamp(base: &Path, files: &mut [DbFile]) -> Option<String> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for f in files.iter() {
        let (len, mtime) = f.stat?;
        let rel = f.path.strip_prefix(base).unwrap_or(&f.path);
        h.update(rel.as_os_str().as_encoded_bytes());
        h.update([0]);
        h.update(len.to_le_bytes());
        h.update(mtime.to_le_bytes());
    }
    Some(hex(&h.finalize()))
}

/// Stamp of one package directory (its advisory files' names, sizes and
/// times), the files' names (`None` if one is not UTF-8), and the files.
fn package_stamp(pkg: &Path, exts: &[&str]) -> Option<(String, Option<Vec<String>>, Vec<DbFile>)> {
    let mut files = db::package_files(pkg, exts);
    let stamp = files_stamp(pkg, &mut files)?;
    let names = files
        .iter()
        .map(|f| Some(f.path.file_name()?.to_str()?.to_string()))
        .collect::<Option<_>>();
    Some((stamp, names, files))
}

/// Stamp of the files `names` of one package directory as they are now,
/// without listing it.
fn named_files_stamp(pkg: &Path, names: &[String]) -> Option<String> {
    let mut files: Vec<DbFile> = names.iter().map(|n| DbFile::stat(pkg.join(n))).collect();
    files_stamp(pkg, &mut files)
}

/// The full survey of `db` as it is on disk now; `None` when its files cannot
/// be listed or stat'ed (the caller then parses, and reports what failed).
pub fn survey(db: &Database) -> Option<Survey> {
    survey_with_files(db, true).map(|(s, _)| s)
}

/// [`survey`], with the advisory files it listed (sorted, as
/// [`Database::files`] lists them), so a first run lists the database once.
/// Unless `settled` (the database is not being written, as right after `db
/// update`), directories changed within [`RACY_NS`] keep no file names.
pub(crate) fn survey_with_files(db: &Database, settled: bool) -> Option<(Survey, Vec<DbFile>)> {
    let started = epoch_ns(std::time::SystemTime::now()).unwrap_or(0);
    let mut s = Survey {
        build: build_id(db),
        top: None,
        dirs: Vec::new(),
        packages: BTreeMap::new(),
        files: None,
    };
    let mut all = Vec::new();
    if let Some((dir, eco, exts)) = db.package_layout() {
        s.top = Some(mtime(&dir)?);
        let listed: Vec<(String, u128, PackageDir, Vec<DbFile>)> = db::package_dirs(&dir)
            .ok()?
            .par_iter()
            .map(|pkg| {
                let name = pkg.file_name()?.to_string_lossy().into_owned();
                // The time first: a file added while the files are listed makes
                // the survey stale, never wrong.
                let t = mtime(pkg)?;
                let (stamp, names, files) = package_stamp(pkg, exts)?;
                let racy = !settled && t.saturating_add(RACY_NS) >= started;
                let pd = PackageDir {
                    name,
                    stamp,
                    files: names.filter(|_| !racy),
                };
                Some((eco.normalize_name(&pd.name), t, pd, files))
            })
            .collect::<Option<_>>()?;
        for (norm, t, pd, files) in listed {
            s.dirs.push((pd.name.clone(), t));
            s.packages.entry(norm).or_default().push(pd);
            all.extend(files);
        }
        s.dirs.sort();
        for v in s.packages.values_mut() {
            v.sort_by(|a, b| a.name.cmp(&b.name));
        }
        all.sort_by(|a, b| a.path.cmp(&b.path));
    } else {
        all = db.files().ok()?;
        s.files = Some(files_stamp(&db.path, &mut all)?);
    }
    Some((s, all))
}

/// Is the index current, as far as it does not depend on the run's packages?
/// (so it can run while the lockfiles are parsed): build, layout and path; for
/// per-package layouts the times of the directory of packages and of every
/// package directory (a package directory added or removed changes the first,
/// a file added to or removed from a package directory changes its own; an
/// advisory may be filed under another package); for flat layouts, every file.
fn valid_for_any_run(db: &Database, stored: &Survey) -> bool {
    if stored.build != build_id(db) {
        return false;
    }
    let Some((dir, _, _)) = db.package_layout() else {
        let Ok(mut files) = db.files() else {
            return false;
        };
        return stored.files.is_some() && files_stamp(&db.path, &mut files) == stored.files;
    };
    stored.top.is_some()
        && mtime(&dir) == stored.top
        && stored
            .dirs
            .par_iter()
            .all(|(name, t)| mtime(&dir.join(name)) == Some(*t))
}

/// Is the index current for the run's packages? A file edited in place
/// changes only its own size or time, so compare the files of every directory
/// that holds an advisory for a wanted package. [`valid_for_any_run`] has
/// checked the directories' times, so their files are the ones recorded:
/// they are stat'ed by name (directories surveyed without names are listed).
fn valid_for(db: &Database, header: &Header, wanted: &Wanted) -> bool {
    let Some((dir, _, exts)) = db.package_layout() else {
        return true;
    };
    let stored = &header.survey;
    let mut homes: Vec<&String> = wanted.values().flatten().collect();
    homes.extend(
        wanted
            .values()
            .flatten()
            .filter_map(|n| header.filed_under.get(n))
            .flatten(),
    );
    homes.sort();
    homes.dedup();
    let wanted_dirs: Vec<&PackageDir> = homes
        .into_iter()
        .filter_map(|n| stored.packages.get(n))
        .flatten()
        .collect();
    wanted_dirs.par_iter().all(|pd| {
        let pkg = dir.join(&pd.name);
        let now = match &pd.files {
            Some(names) => named_files_stamp(&pkg, names),
            None => package_stamp(&pkg, exts).map(|(stamp, _, _)| stamp),
        };
        now.as_ref() == Some(&pd.stamp)
    })
}

/// The advisories of `db` that concern `wanted`, from its index when that is
/// current; `None` when there is no usable index.
pub fn load(dir: &Path, db: &Database, wanted: &Wanted) -> Option<Loaded> {
    open(dir, db)?.answer(db, wanted)
}

/// An index file read and its header parsed: the part of [`load`] that does
/// not depend on the run's packages, so it can overlap lockfile parsing.
pub struct Opened {
    body: Body,
    header: Header,
}

/// The records of an index: in memory, or (for a large index, such as one of
/// osv.dev's `all.zip`) left in the file and read one by one when needed.
enum Body {
    Whole(Vec<u8>),
    File(std::fs::File, u64),
}

/// Indexes up to this size are read whole; larger ones record by record.
const READ_WHOLE: u64 = 32 << 20;

/// Read the index of `db` from `dir`; `None` when it is missing, unreadable or
/// stale for any run (whether it is current for the run's packages is decided
/// by [`Opened::answer`]).
pub fn open(dir: &Path, db: &Database) -> Option<Opened> {
    open_reading_whole(dir, db, READ_WHOLE)
}

fn open_reading_whole(dir: &Path, db: &Database, read_whole: u64) -> Option<Opened> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path_for(dir, db)).ok()?;
    let len = file.metadata().ok()?.len();
    let mut r = std::io::BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).ok()?;
    if line != MAGIC {
        return None;
    }
    line.clear();
    r.read_until(b'\n', &mut line).ok()?;
    let header: Header = serde_json::from_slice(line.strip_suffix(b"\n")?).ok()?;
    if !valid_for_any_run(db, &header.survey) {
        return None;
    }
    let body_start = (MAGIC.len() + line.len()) as u64;
    let body = if len <= read_whole {
        let mut v = Vec::with_capacity(len.saturating_sub(body_start) as usize);
        r.read_to_end(&mut v).ok()?;
        Body::Whole(v)
    } else {
        Body::File(r.into_inner(), body_start)
    };
    Some(Opened { body, header })
}

impl Opened {
    /// The advisories that concern `wanted`, if the index is still current for them.
    pub fn answer(self, db: &Database, wanted: &Wanted) -> Option<Loaded> {
        let Opened { body, header } = self;
        if !valid_for(db, &header, wanted) {
            return None;
        }
        let mut ids: Vec<u32> = wanted
            .iter()
            .flat_map(|(eco, names)| names.iter().map(|n| key(*eco, n)))
            .filter_map(|k| header.packages.get(&k))
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let spans: Vec<(u64, usize)> = ids
            .iter()
            .map(|&i| {
                let &(off, len) = header.records.get(i as usize)?;
                Some((off, usize::try_from(len).ok()?))
            })
            .collect::<Option<_>>()?;
        let advisories: Vec<Advisory> = match body {
            Body::Whole(bytes) => spans
                .par_iter()
                .map(|&(off, len)| {
                    let start = usize::try_from(off).ok()?;
                    let rec = bytes.get(start..start.checked_add(len)?)?;
                    serde_json::from_slice(rec).ok()
                })
                .collect::<Option<_>>()?,
            Body::File(mut file, body_start) => {
                use std::io::{Read, Seek, SeekFrom};
                let mut recs = Vec::with_capacity(spans.len());
                for &(off, len) in &spans {
                    file.seek(SeekFrom::Start(body_start.checked_add(off)?))
                        .ok()?;
                    let mut rec = Vec::new();
                    (&mut file).take(len as u64).read_to_end(&mut rec).ok()?;
                    recs.push(rec);
                }
                recs.par_iter()
                    .map(|rec| serde_json::from_slice(rec).ok())
                    .collect::<Option<_>>()?
            }
        };
        let mut parsed: Vec<Parsed> = advisories
            .into_iter()
            .map(|a| Parsed {
                package: None,
                result: Ok(a),
            })
            .collect();
        let files = header.records.len() + header.errors.len();
        parsed.extend(header.errors.into_iter().map(|e| Parsed {
            package: e.package,
            result: Err(Error::Advisory {
                path: e.path,
                message: e.message,
            }),
        }));
        let mut loaded = db.keep_wanted(parsed, Some(wanted));
        loaded.files = files;
        loaded.newest = header.newest;
        loaded.covers = header
            .packages
            .keys()
            .filter_map(|k| Ecosystem::from_osv(k.split('\0').next()?))
            .collect();
        Some(loaded)
    }
}

/// Write the index of `db`, surveyed as `survey` before it was parsed into `all`.
pub(crate) fn write(
    dir: &Path,
    db: &Database,
    survey: &Survey,
    all: &[Parsed],
) -> std::io::Result<()> {
    let path = path_for(dir, db);
    let ok: Vec<&Advisory> = all.iter().filter_map(|p| p.result.as_ref().ok()).collect();
    let records: Vec<Vec<u8>> = ok
        .par_iter()
        .map(|a| serde_json::to_vec(a).map_err(std::io::Error::other))
        .collect::<std::io::Result<_>>()?;
    let mut header = Header {
        survey: survey.clone(),
        records: Vec::with_capacity(records.len()),
        packages: HashMap::new(),
        errors: Vec::new(),
        filed_under: BTreeMap::new(),
        newest: db::newest(ok.iter().copied()),
    };
    let mut off = 0u64;
    for (i, (a, rec)) in ok.iter().zip(&records).enumerate() {
        header.records.push((off, rec.len() as u64));
        off += rec.len() as u64;
        let mut keys: Vec<String> = a
            .affected
            .iter()
            .map(|af| key(af.ecosystem, &af.name))
            .collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            header.packages.entry(k).or_default().push(i as u32);
        }
    }
    for p in all {
        match &p.result {
            Ok(a) => {
                // Filed under another package's directory: that directory's
                // files are checked whenever a package the advisory names is.
                let Some((_, home)) = &p.package else {
                    continue;
                };
                for af in &a.affected {
                    if af.name != *home {
                        let v = header.filed_under.entry(af.name.clone()).or_default();
                        if !v.contains(home) {
                            v.push(home.clone());
                        }
                    }
                }
            }
            Err(Error::Advisory { path, message }) => header.errors.push(StoredError {
                package: p.package.clone(),
                path: path.clone(),
                message: message.clone(),
            }),
            // Unreadable files (their cause is not in the stamp) and
            // whole-database failures: no index; the next run parses again.
            Err(Error::Read { .. } | Error::Database { .. } | Error::Update { .. }) => {
                return Ok(());
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    // Written aside and renamed: a concurrent run sees the old index or the new one.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".tmp-{}-{nanos}-{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        w.write_all(MAGIC)?;
        serde_json::to_writer(&mut w, &header).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
        for r in &records {
            w.write_all(r)?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Make sure `db` has a current index (after `db update`). Returns whether one
/// had to be written.
pub fn prepare(dir: &Path, db: &Database) -> Result<bool, Error> {
    // `db update` has just written the database: no one else is writing it.
    let (survey, files) = survey_with_files(db, true).ok_or_else(|| Error::Database {
        path: db.path.clone(),
        message: "cannot list the advisory files".into(),
    })?;
    if stored_survey(dir, db).as_ref() == Some(&survey) {
        return Ok(false);
    }
    let all = db.parse_listed(&files)?;
    write(dir, db, &survey, &all).map_err(|e| Error::Database {
        path: path_for(dir, db),
        message: format!("cannot write the advisory index: {e}"),
    })?;
    Ok(true)
}

/// Does `db` have an index that matches all of its files?
pub fn is_current(dir: &Path, db: &Database) -> bool {
    stored_survey(dir, db).is_some_and(|s| survey(db).as_ref() == Some(&s))
}

/// The survey recorded in `db`'s index (reads only the header).
fn stored_survey(dir: &Path, db: &Database) -> Option<Survey> {
    let f = std::fs::File::open(path_for(dir, db)).ok()?;
    let mut r = std::io::BufReader::new(f);
    let mut line = Vec::new();
    std::io::BufRead::read_until(&mut r, b'\n', &mut line).ok()?;
    if line != MAGIC {
        return None;
    }
    line.clear();
    std::io::BufRead::read_until(&mut r, b'\n', &mut line).ok()?;
    let h: Header = serde_json::from_slice(line.strip_suffix(b"\n")?).ok()?;
    Some(h.survey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Database {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/advisory-db");
        super::super::db::open(&p.join(name)).unwrap()
    }

    fn everything(db: &Database) -> Wanted {
        let mut w = Wanted::new();
        for p in db.parse_all().unwrap() {
            for af in p.result.iter().flat_map(|a| &a.affected) {
                w.entry(af.ecosystem).or_default().insert(af.name.clone());
            }
        }
        w
    }

    /// (id, affected names, ranges, summary) of each advisory, sorted.
    fn summary(l: &Loaded) -> Vec<String> {
        let mut v: Vec<String> = l
            .advisories
            .iter()
            .map(|a| {
                format!(
                    "{} {:?} {:?} {:?} {:?} {:?}",
                    a.id,
                    a.affected.iter().map(|af| &af.name).collect::<Vec<_>>(),
                    a.affected.iter().map(|af| &af.ranges).collect::<Vec<_>>(),
                    a.summary,
                    a.cvss,
                    a.aliases
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn index_answers_exactly_what_parsing_answers() {
        let cache = tempfile::tempdir().unwrap();
        for name in ["rustsec", "pypa", "osv"] {
            let db = fixture(name);
            let all = everything(&db);
            assert!(
                load(cache.path(), &db, &all).is_none(),
                "{name}: no index yet"
            );
            assert!(prepare(cache.path(), &db).unwrap(), "{name}: written");
            assert!(
                !prepare(cache.path(), &db).unwrap(),
                "{name}: already current"
            );
            assert!(is_current(cache.path(), &db));
            let direct = db.load(None);
            let indexed = load(cache.path(), &db, &all).expect("index hit");
            assert!(!direct.advisories.is_empty());
            assert_eq!(summary(&indexed), summary(&direct), "{name}");
            // One package only: only its advisories.
            let (eco, names) = all.iter().next().unwrap();
            let one: Wanted = [(*eco, [names.iter().next().unwrap().clone()].into())].into();
            let part = load(cache.path(), &db, &one).unwrap();
            assert!(!part.advisories.is_empty() && part.advisories.len() < direct.advisories.len());
            assert!(part.advisories.iter().all(|a| a.affected.len() == 1));
        }
    }

    fn copy_rustsec(to: &Path) -> Database {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/advisory-db/rustsec");
        for e in std::fs::read_dir(src.join("crates")).unwrap().flatten() {
            let d = to.join("crates").join(e.file_name());
            std::fs::create_dir_all(&d).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap().flatten() {
                std::fs::copy(f.path(), d.join(f.file_name())).unwrap();
            }
        }
        super::super::db::open(to).unwrap()
    }

    fn only(name: &str) -> Wanted {
        [(Ecosystem::CratesIo, [name.to_string()].into())].into()
    }

    #[test]
    fn edits_invalidate_for_the_runs_they_concern_and_a_bad_index_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let db = copy_rustsec(&tmp.path().join("rustsec"));
        let cache = tmp.path().join("cache");
        assert_eq!(survey(&db), survey(&db), "stable");
        prepare(&cache, &db).unwrap();
        let vuln = only("fixture-vuln");
        let other = only("fixture-unmaintained");
        assert!(load(&cache, &db, &vuln).is_some());
        // Same size, one byte changed in place: the file's time moves.
        let f = db.path.join("crates/fixture-vuln/RUSTSEC-2099-0001.md");
        let text = std::fs::read_to_string(&f).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, text.replacen("Fictional", "fictional", 1)).unwrap();
        assert!(!is_current(&cache, &db));
        assert!(
            load(&cache, &db, &vuln).is_none(),
            "the edited package is re-read"
        );
        assert!(
            load(&cache, &db, &other).is_some(),
            "other packages still use the index"
        );
        prepare(&cache, &db).unwrap();
        assert!(load(&cache, &db, &vuln).is_some());
        // A new file in a package directory, and a new package directory.
        std::fs::write(
            db.path.join("crates/fixture-vuln/extra.md"),
            "not an advisory",
        )
        .unwrap();
        assert!(load(&cache, &db, &vuln).is_none());
        prepare(&cache, &db).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::create_dir(db.path.join("crates/brand-new")).unwrap();
        assert!(
            load(&cache, &db, &other).is_none(),
            "a new package is seen by every run"
        );
        prepare(&cache, &db).unwrap();
        // The broken file is stored as an error and reported from the index.
        let l = load(&cache, &db, &vuln).unwrap();
        assert!(
            l.errors.iter().any(|e| e.to_string().contains("extra.md")),
            "{:?}",
            l.errors
        );
        assert!(
            load(&cache, &db, &other).unwrap().errors.is_empty(),
            "not for other packages"
        );
        // A corrupt index is a miss, not an error.
        let idx = path_for(&cache, &db);
        let mut bytes = std::fs::read(&idx).unwrap();
        let n = bytes.len();
        bytes.truncate(n - 10);
        std::fs::write(&idx, &bytes).unwrap();
        assert!(
            load(&cache, &db, &everything(&db)).is_none(),
            "a cut record"
        );
        std::fs::write(&idx, b"garbage").unwrap();
        assert!(!is_current(&cache, &db));
        assert!(load(&cache, &db, &vuln).is_none());
    }

    #[test]
    fn flat_osv_directories_are_checked_file_by_file() {
        let tmp = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/advisory-db/osv");
        let osv = tmp.path().join("osv");
        std::fs::create_dir_all(&osv).unwrap();
        for f in std::fs::read_dir(&src).unwrap().flatten() {
            std::fs::copy(f.path(), osv.join(f.file_name())).unwrap();
        }
        let db = super::super::db::open(&osv).unwrap();
        let cache = tmp.path().join("cache");
        prepare(&cache, &db).unwrap();
        let all = everything(&db);
        assert!(load(&cache, &db, &all).is_some());
        let f = std::fs::read_dir(&osv)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let text = std::fs::read(&f).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, text).unwrap();
        assert!(load(&cache, &db, &all).is_none(), "rewritten file");
    }

    fn ids(l: &Loaded) -> Vec<String> {
        let mut v: Vec<String> = l.advisories.iter().map(|a| a.id.clone()).collect();
        v.sort();
        v
    }

    /// A file added to a package directory after a first run listed it, in
    /// the same timestamp tick (so the directory's time did not move), is
    /// still seen: a directory changed just before the survey keeps no file
    /// names, and runs list it. After `db update` (settled) names are kept.
    #[test]
    fn a_file_added_in_the_tick_of_the_listing_is_seen() {
        for settled in [false, true] {
            let tmp = tempfile::tempdir().unwrap();
            let db = copy_rustsec(&tmp.path().join("rustsec"));
            let cache = tmp.path().join("cache");
            let (survey, files) = survey_with_files(&db, settled).unwrap();
            write(&cache, &db, &survey, &db.parse_listed(&files).unwrap()).unwrap();
            let pkg = db.path.join("crates/fixture-vuln");
            let t = std::fs::metadata(&pkg).unwrap().modified().unwrap();
            std::fs::copy(
                pkg.join("RUSTSEC-2099-0001.md"),
                pkg.join("RUSTSEC-2099-0009.md"),
            )
            .unwrap();
            std::fs::File::open(&pkg).unwrap().set_modified(t).unwrap();
            let seen = load(&cache, &db, &only("fixture-vuln")).is_none();
            assert_eq!(seen, !settled, "settled: {settled}");
        }
    }

    fn tick() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    #[test]
    fn an_advisory_filed_under_another_package_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let db = copy_rustsec(&tmp.path().join("rustsec"));
        let cache = tmp.path().join("cache");
        prepare(&cache, &db).unwrap();
        let other = only("fixture-unmaintained");
        assert_eq!(
            ids(&load(&cache, &db, &other).unwrap()),
            ["RUSTSEC-2099-0002"]
        );
        // Added to fixture-vuln/, naming fixture-unmaintained: no new directory.
        let cross = db.path.join("crates/fixture-vuln/RUSTSEC-2099-0100.md");
        let text =
            std::fs::read_to_string(db.path.join("crates/fixture-vuln/RUSTSEC-2099-0001.md"))
                .unwrap()
                .replace("RUSTSEC-2099-0001", "RUSTSEC-2099-0100")
                .replace(
                    r#"package = "fixture-vuln""#,
                    r#"package = "fixture-unmaintained""#,
                );
        tick();
        std::fs::write(&cross, &text).unwrap();
        assert!(load(&cache, &db, &other).is_none(), "an added file is seen");
        assert!(prepare(&cache, &db).unwrap());
        assert!(
            is_current(&cache, &db),
            "cross-filed advisories keep the index current"
        );
        assert!(!prepare(&cache, &db).unwrap(), "and it is not rewritten");
        assert_eq!(
            ids(&load(&cache, &db, &other).unwrap()),
            ["RUSTSEC-2099-0002", "RUSTSEC-2099-0100"]
        );
        // Edited in place: only its own directory's stamp says so.
        tick();
        std::fs::write(&cross, text.replace(">= 1.2.0", ">= 1.3.0")).unwrap();
        assert!(load(&cache, &db, &other).is_none(), "an edit is seen");
    }

    #[test]
    fn symlinked_advisories_are_stamped_by_their_target() {
        let tmp = tempfile::tempdir().unwrap();
        let db = copy_rustsec(&tmp.path().join("rustsec"));
        let cache = tmp.path().join("cache");
        let real = db.path.join("crates/fixture-vuln/RUSTSEC-2099-0001.md");
        let target = tmp.path().join("elsewhere.md");
        std::fs::rename(&real, &target).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &real).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(&target, &real).unwrap();
        prepare(&cache, &db).unwrap();
        let vuln = only("fixture-vuln");
        assert!(load(&cache, &db, &vuln).is_some());
        tick();
        let text = std::fs::read_to_string(&target).unwrap();
        std::fs::write(&target, text.replace(">= 1.2.0", ">= 1.3.0")).unwrap();
        if cfg!(unix) {
            assert!(load(&cache, &db, &vuln).is_none(), "the target changed");
        }
    }

    #[test]
    fn unreadable_files_are_never_cached() {
        let tmp = tempfile::tempdir().unwrap();
        let db = copy_rustsec(&tmp.path().join("rustsec"));
        let cache = tmp.path().join("cache");
        let s = survey(&db).unwrap();
        let mut all = db.parse_all().unwrap();
        all.push(Parsed {
            package: Some((Ecosystem::CratesIo, "fixture-vuln".into())),
            result: Err(Error::Read {
                path: db.path.join("crates/fixture-vuln/x.md"),
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            }),
        });
        write(&cache, &db, &s, &all).unwrap();
        assert!(!path_for(&cache, &db).exists());
        // Content errors are stamped, so they are.
        all.pop();
        all.push(Parsed {
            package: Some((Ecosystem::CratesIo, "fixture-vuln".into())),
            result: Err(Error::Advisory {
                path: db.path.join("crates/fixture-vuln/x.md"),
                message: "no front matter".into(),
            }),
        });
        write(&cache, &db, &s, &all).unwrap();
        assert!(path_for(&cache, &db).exists());
    }

    #[test]
    fn a_large_index_is_read_record_by_record_with_the_same_answer() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        for name in ["rustsec", "pypa", "osv"] {
            let db = fixture(name);
            prepare(&cache, &db).unwrap();
            let all = everything(&db);
            let whole = open_reading_whole(&cache, &db, u64::MAX).unwrap();
            assert!(matches!(whole.body, Body::Whole(_)));
            let file = open_reading_whole(&cache, &db, 0).unwrap();
            assert!(matches!(file.body, Body::File(..)));
            let (a, b) = (
                whole.answer(&db, &all).unwrap(),
                file.answer(&db, &all).unwrap(),
            );
            assert!(!a.advisories.is_empty());
            assert_eq!(summary(&a), summary(&b), "{name}");
        }
    }

    #[test]
    fn two_spellings_of_a_database_share_one_index() {
        let tmp = tempfile::tempdir().unwrap();
        let db = copy_rustsec(&tmp.path().join("rustsec"));
        let cache = tmp.path().join("cache");
        prepare(&cache, &db).unwrap();
        let again = super::super::db::open(&tmp.path().join("./rustsec/../rustsec")).unwrap();
        assert_ne!(again.path, db.path);
        assert!(load(&cache, &again, &only("fixture-vuln")).is_some());
    }

    #[test]
    fn index_file_names_stay_in_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let mut db = fixture("osv");
        db.name = "/abs/../name with spaces".into();
        let p = path_for(tmp.path(), &db);
        assert_eq!(p.parent(), Some(tmp.path()));
        assert!(
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("_abs____name_with_spaces-")
        );
    }
}

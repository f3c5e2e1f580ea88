//! Orchestration of the dependency audit: `deps` (lockfiles only), `check`
//! (the secrets report plus the audit, one report) and `db update|status`.
//! Finds lockfiles, opens databases, runs `audit`, merges into a [`Report`]
//! and hands it to the same writers and exit policy as `scan`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use super::{load_config, load_suppressor, root_dir};
use crate::audit::{self, db};
use crate::cli::{CheckArgs, DbArgs, DbCommand, DbStatusArgs, DbUpdateArgs, DepsArgs};
use crate::config::{self, DepsConfig};
use crate::finding;
use crate::report::{self, Format, Report, ScanError, Stats};
use crate::source::lockfile;
use crate::{exit, suppress};

/// Days after which a database is called stale unless `--max-db-age` says otherwise.
pub const DEFAULT_MAX_DB_AGE_DAYS: u64 = 90;

/// `preflight deps PATH`.
pub fn run_deps(args: &DepsArgs) -> Result<u8> {
    let started = Instant::now();
    let root = args.path.as_path();
    if !root.exists() {
        bail!("{}: no such file or directory", root.display());
    }
    let (cfg, cfg_path) = load_config(args.config.as_deref(), root)?;
    // `.preflightignore` fingerprints and `allow.paths` apply to advisories too.
    let suppressor = load_suppressor(root, &cfg, &cfg_path, None)?;
    let mut report = empty_report(root);
    // Unused `.preflightignore` entries are the secrets scan's business: `deps`
    // alone cannot tell whether they are stale.
    let _stale = audit_into(
        &mut report,
        root,
        &args.db,
        &cfg.deps,
        &cfg_path,
        &suppressor,
        !args.no_ignore,
    )?;
    report.stats.elapsed_ms = started.elapsed().as_millis() as u64;
    write_report(&report, args.format, args.output.as_deref(), args.no_color)?;
    Ok(exit::code_for(&report, args.fail_on, args.db.deny_warnings))
}

/// `preflight check PATH`: the secrets report, then the dependency audit merged in.
pub fn run_check(args: &CheckArgs) -> Result<u8> {
    let started = Instant::now();
    let root = args.scan.path.as_path();
    let mut report = super::scan_report(&args.scan)?;
    let (cfg, cfg_path) = load_config(args.scan.config.as_deref(), root)?;
    let suppressor = load_suppressor(root, &cfg, &cfg_path, args.scan.baseline.as_deref())?;
    let stale = audit_into(
        &mut report,
        root,
        &args.db,
        &cfg.deps,
        &cfg_path,
        &suppressor,
        !args.scan.no_ignore,
    )?;
    // An ignore or baseline entry is stale only if neither the secrets nor the advisories used it.
    report.stale.retain(|s| stale.contains(s));
    report.stats.elapsed_ms = started.elapsed().as_millis() as u64;
    super::write_out(&report, &args.scan)?;
    Ok(exit::code_for(
        &report,
        args.scan.fail_on,
        args.db.deny_warnings,
    ))
}

/// `preflight db update|status`.
pub fn run_db(cmd: &DbCommand) -> Result<u8> {
    match cmd {
        DbCommand::Update(a) => db_update(a),
        DbCommand::Status(a) => db_status(a),
    }
}

fn empty_report(root: &Path) -> Report {
    Report {
        version: 1,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        root: root.display().to_string(),
        root_abs: std::fs::canonicalize(root_dir(root)).unwrap_or_else(|_| root.to_path_buf()),
        findings: Vec::new(),
        rules: BTreeMap::new(),
        stats: Stats::default(),
        errors: Vec::new(),
        notes: Vec::new(),
        stale: Vec::new(),
        incomplete: false,
        vcs: None,
        show_secrets: false,
    }
}

/// The databases to use: `--db`, else `[deps] db` (relative to the config file),
/// else every database under the default root. None at all is an error.
fn database_paths(args: &DbArgs, cfg: &DepsConfig, cfg_path: &Path) -> Result<Vec<PathBuf>> {
    if !args.dbs.is_empty() {
        return Ok(args.dbs.clone());
    }
    if !cfg.db.is_empty() {
        let base = cfg_path.parent().unwrap_or(Path::new(""));
        return Ok(cfg.db.iter().map(|d| base.join(d)).collect());
    }
    let root = db::default_root();
    let found = root
        .as_deref()
        .map(db::default_databases)
        .unwrap_or_default();
    if found.is_empty() {
        bail!(
            "no advisory database: run `preflight db update` to fetch RustSec and PyPA into {}, or pass --db DIR (a RustSec, PyPA or OSV directory)",
            root.map_or_else(
                || "the cache directory".to_string(),
                |r| r.display().to_string()
            )
        );
    }
    Ok(found)
}

/// Find lockfiles under `root`, audit them against the databases, apply
/// `suppressor` and then `[[deps.ignore]]`, and merge findings, rules, notes,
/// errors and counters into `report`. Returns the suppressor's entries that no
/// advisory used.
pub fn audit_into(
    report: &mut Report,
    root: &Path,
    args: &DbArgs,
    cfg: &DepsConfig,
    cfg_path: &Path,
    suppressor: &suppress::Suppressor,
    respect_ignore: bool,
) -> Result<Vec<suppress::StaleEntry>> {
    let t0 = Instant::now();
    let paths = database_paths(args, cfg, cfg_path)?;
    let mut dbs = Vec::with_capacity(paths.len());
    for p in &paths {
        dbs.push(db::open(p).with_context(|| "opening advisory database".to_string())?);
    }
    // Parse the lockfiles while the indexes of the databases that can concern
    // them are read: neither depends on the other.
    let (files, find_errors) = lockfile::find_lockfiles(root, respect_ignore);
    let ecosystems: BTreeSet<_> = files.iter().map(|f| f.kind.ecosystem()).collect();
    // (With no current index, the database is parsed meanwhile instead.)
    let (found, early) = rayon::join(
        || lockfile::parse_found(&files, find_errors),
        || {
            dbs.par_iter()
                .map(|d| d.early(&ecosystems))
                .collect::<Vec<_>>()
        },
    );
    let t_lock = t0.elapsed();
    let wanted = audit::wanted(&found.packages);
    let loaded: Vec<db::Loaded> = dbs
        .par_iter()
        .zip(early)
        .map(|(d, e)| d.load_early(&wanted, e))
        .collect();
    let t_load = t0.elapsed();
    // Packages of an ecosystem that no database has advisories for would pass
    // unchecked: say so (e.g. npm lockfiles with only RustSec and PyPA).
    let covered: BTreeSet<_> = loaded
        .iter()
        .flat_map(|l| l.covers.iter().copied())
        .collect();
    let mut uncovered: BTreeMap<_, (usize, BTreeSet<&str>)> = BTreeMap::new();
    for p in found
        .packages
        .iter()
        .filter(|p| !covered.contains(&p.ecosystem))
    {
        let e = uncovered.entry(p.ecosystem).or_default();
        e.0 += 1;
        e.1.insert(&p.path);
    }
    for (eco, (n, paths)) in uncovered {
        let mut shown: Vec<&str> = paths.iter().copied().take(3).collect();
        let more = format!("{} more", paths.len().saturating_sub(3));
        if paths.len() > 3 {
            shown.push(&more);
        }
        report.notes.push(format!(
            "warning: no advisory database covers {eco}: {n} package(s) in {} not audited; \
             add an OSV database for {eco} with --db (e.g. osv.dev's {eco}/all.zip)",
            shown.join(", ")
        ));
    }
    let newest: Vec<Option<String>> = loaded.iter().map(|l| l.newest.clone()).collect();
    let mut advisories = Vec::new();
    let audited: BTreeSet<_> = wanted
        .iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(eco, _)| *eco)
        .collect();
    for (order, l) in loaded.into_iter().enumerate() {
        // Counted when it has advisories for an ecosystem of the packages.
        if l.files > 0 && !l.covers.is_disjoint(&audited) {
            report.stats.databases += 1;
            report.stats.database_advisories += l.files as u64;
        }
        for e in l.errors {
            report.errors.push(audit_error(&e));
        }
        for mut a in l.advisories {
            a.database_order = order;
            advisories.push(a);
        }
    }
    let max_age = args
        .max_db_age
        .or(cfg.max_db_age)
        .unwrap_or(DEFAULT_MAX_DB_AGE_DAYS);
    let now = db::now();
    for (d, newest) in dbs.iter().zip(&newest) {
        // A git checkout's age is its last commit's; a plain directory or
        // all.zip is as old as its newest advisory.
        let (time, what) = match db::freshness(&d.path) {
            Some(f) => (Some(f.time), "last commit".to_string()),
            None => (
                newest.as_deref().and_then(audit::epoch_of),
                format!("newest advisory {}", newest.as_deref().unwrap_or("")),
            ),
        };
        if let Some(t) = time {
            let days = (now - t).max(0) as u64 / 86_400;
            if days > max_age {
                report.notes.push(format!(
                    "warning: advisory database {} is {days} days old ({what}; older than {max_age}); run `preflight db update`",
                    d.name
                ));
            }
        }
    }
    let advisories = audit::dedup_by_id(advisories);
    let mut outcome = audit::audit(&found.packages, &advisories);
    if std::env::var_os("PREFLIGHT_TIMING").is_some() {
        eprintln!(
            "timing: lockfiles {:?}, databases {:?}, match {:?}",
            t_lock,
            t_load - t_lock,
            t0.elapsed() - t_load
        );
    }
    let stale = suppressor.apply(&mut outcome.findings);
    report.notes.extend(audit::apply_ignores(
        &mut outcome.findings,
        &cfg.ignore,
        &audit::today(),
    ));
    if found.lockfiles.is_empty() {
        report
            .notes
            .push(format!("no lockfile found under {}", root.display()));
    }
    report.stats.dep_audit = true;
    report.stats.lockfiles += found.lockfiles.len() as u64;
    report.stats.packages += found.packages.len() as u64;
    report.stats.advisories += advisories.len() as u64;
    report.notes.extend(found.notes);
    report.notes.extend(outcome.notes);
    report.notes.sort();
    report.notes.dedup();
    for e in &found.errors {
        report.errors.push(lockfile_error(e));
    }
    report.errors.sort();
    report.incomplete |= !report.errors.is_empty();
    report.findings.extend(outcome.findings);
    finding::sort_findings(&mut report.findings);
    report.rules.extend(outcome.rules);
    Ok(stale)
}

fn lockfile_error(e: &lockfile::Error) -> ScanError {
    let message = match e {
        lockfile::Error::Read { source, .. } => format!("cannot read: {source}"),
        lockfile::Error::Parse {
            line: Some(l),
            message,
            ..
        } => format!("line {l}: {message}"),
        lockfile::Error::Parse { message, .. } | lockfile::Error::Walk { message, .. } => {
            message.clone()
        }
    };
    ScanError {
        path: e.path().to_string(),
        message,
    }
}

fn audit_error(e: &audit::Error) -> ScanError {
    let (path, message) = match e {
        audit::Error::Read { path, source } => {
            (path.display().to_string(), format!("cannot read: {source}"))
        }
        audit::Error::Advisory { path, message } => (
            path.display().to_string(),
            format!("cannot parse advisory: {}", message.replace('\n', " ")),
        ),
        audit::Error::Database { path, message } => (path.display().to_string(), message.clone()),
        audit::Error::Update { name, url, message } => (format!("{name} ({url})"), message.clone()),
    };
    ScanError { path, message }
}

/// Write to `--output` or stdout (colour only on a terminal, never with NO_COLOR).
fn write_report(
    report: &Report,
    format: Format,
    output: Option<&Path>,
    no_color: bool,
) -> Result<()> {
    match output {
        Some(p) => {
            let f =
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
            let mut w = std::io::BufWriter::new(f);
            report::write_report(report, format, false, &mut w)?;
            w.flush()
                .with_context(|| format!("writing {}", p.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let color = format == Format::Text
                && !no_color
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && stdout.is_terminal();
            let mut w = std::io::BufWriter::new(stdout.lock());
            report::write_report(report, format, color, &mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

fn db_root(dir: Option<&Path>) -> Result<PathBuf> {
    match dir {
        Some(d) => Ok(d.to_path_buf()),
        None => {
            db::default_root().context("no cache directory (set PREFLIGHT_DB_DIR or pass --dir)")
        }
    }
}

fn db_update(args: &DbUpdateArgs) -> Result<u8> {
    let root = db_root(args.dir.as_deref())?;
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    if args.sources.is_empty() {
        let cfg_path = args
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::CONFIG_FILE));
        if args.config.is_some() && !cfg_path.exists() {
            bail!("config file {} does not exist", cfg_path.display());
        }
        let cfg = config::load_file_config(&cfg_path)?.unwrap_or_default();
        sources = cfg.deps.sources;
        if sources.is_empty() {
            for (n, u) in audit::update::DEFAULT_SOURCES {
                sources.insert(n.to_string(), u.to_string());
            }
        }
    } else {
        for s in &args.sources {
            let Some((n, u)) = s.split_once('=') else {
                bail!("--source {s:?}: expected NAME=URL");
            };
            let n = n.trim();
            if n.is_empty() || n.contains(['/', '\\']) || n.starts_with('.') {
                bail!("--source {s:?}: NAME must be a plain directory name");
            }
            sources.insert(n.to_string(), u.trim().to_string());
        }
    }
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let mut failed = 0;
    for (name, url) in &sources {
        match audit::update::update(&root, name, url) {
            Ok(u) => {
                eprintln!("{name}: {}", u.describe());
                // Prepare the index now, so the next audit reads one file.
                if let Some(dir) = audit::index::dir() {
                    let prepared =
                        db::open(&root.join(name)).and_then(|d| audit::index::prepare(&dir, &d));
                    if let Err(e) = prepared {
                        eprintln!("preflight: warning: {e}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("preflight: error: {e}");
            }
        }
    }
    Ok(if failed > 0 { exit::ERROR } else { exit::CLEAN })
}

#[derive(serde::Serialize)]
struct DbStatus {
    name: String,
    path: String,
    layout: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age_days: Option<u64>,
    stale: bool,
    /// A prepared index matches the database's files.
    indexed: bool,
}

fn db_status(args: &DbStatusArgs) -> Result<u8> {
    let paths = if args.db.dbs.is_empty() {
        let root = db_root(args.dir.as_deref())?;
        let found = db::default_databases(&root);
        if found.is_empty() {
            bail!(
                "no advisory database in {}: run `preflight db update`, or pass --db DIR",
                root.display()
            );
        }
        found
    } else {
        args.db.dbs.clone()
    };
    let max_age = args.db.max_db_age.unwrap_or(DEFAULT_MAX_DB_AGE_DAYS);
    let now = db::now();
    let mut rows = Vec::new();
    for p in &paths {
        let d = db::open(p)?;
        let f = db::freshness(p);
        let age = f.as_ref().map(|f| (now - f.time).max(0) as u64 / 86_400);
        let indexed = audit::index::dir().is_some_and(|dir| audit::index::is_current(&dir, &d));
        rows.push(DbStatus {
            name: d.name,
            path: p.display().to_string(),
            layout: d.layout.as_str(),
            commit: f.as_ref().map(|f| f.commit.clone()),
            date: f.as_ref().map(|f| crate::source::git::rfc3339(f.time)),
            age_days: age,
            stale: age.is_some_and(|a| a > max_age),
            indexed,
        });
    }
    let mut out = std::io::stdout().lock();
    if args.format == Format::Text {
        for r in &rows {
            let index = if r.indexed { "indexed" } else { "not indexed" };
            match (&r.commit, &r.date, r.age_days) {
                (Some(c), Some(d), Some(a)) => writeln!(
                    out,
                    "{:<16} {:<8} {} {} ({a} day(s) old{}), {index}  {}",
                    r.name,
                    r.layout,
                    &c[..c.len().min(12)],
                    d,
                    if r.stale {
                        ", STALE: run `preflight db update`"
                    } else {
                        ""
                    },
                    r.path
                )?,
                _ => writeln!(
                    out,
                    "{:<16} {:<8} not a git checkout: age unknown, {index}  {}",
                    r.name, r.layout, r.path
                )?,
            }
        }
    } else {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    }
    Ok(exit::CLEAN)
}

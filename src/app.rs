//! Orchestration: resolve config, load rules, run sources through the scanner
//! on a rayon pool, group, suppress, and hand a sorted report to a writer.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::cli::{Cli, Command, RulesCommand, ScanArgs};
use crate::finding::{self, Provenance, RawFinding};
use crate::report::{self, Format, Report, RuleMeta, ScanError, Stats};
use crate::rules::{self, RuleSet};
use crate::scan::{self, Scanner};
use crate::source::fs::{self as fs_source, WalkItem, WalkOptions};
use crate::source::git;
use crate::{config, exit, suppress};

pub mod deps;
mod history;
use history::scan_history;

/// Default `--max-file-size`: 25 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 25 << 20;

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => run_scan(&args),
        Command::Rules(RulesCommand::List { format }) => rules_list(format),
        Command::Rules(RulesCommand::Check { files }) => rules_check(&files),
        Command::Deps(args) => deps::run_deps(&args),
        Command::Check(args) => deps::run_check(&args),
        Command::Db(cmd) => deps::run_db(&cmd),
        Command::Init { force } => init(force),
        Command::Baseline(args) => run_baseline(&args),
        Command::Hook(cmd) => run_hook(&cmd),
        Command::Completions { shell } => run_completions(shell),
    }
}

fn init(force: bool) -> Result<u8> {
    let p = Path::new(config::CONFIG_FILE);
    if p.exists() && !force {
        bail!("{} already exists (use --force to overwrite)", p.display());
    }
    std::fs::write(p, config::STARTER).with_context(|| format!("writing {}", p.display()))?;
    eprintln!("wrote {}", p.display());
    Ok(exit::CLEAN)
}

fn rules_list(format: Format) -> Result<u8> {
    let set = RuleSet::builtin().context("loading builtin rules")?;
    let mut out = std::io::stdout().lock();
    if format == Format::Text {
        for r in &set.rules {
            writeln!(
                out,
                "{:<40} {:<8} {}",
                r.spec.id,
                r.spec.severity.as_str(),
                r.spec.name
            )?;
        }
        writeln!(out, "{} rules", set.rules.len())?;
    } else {
        let metas: Vec<RuleMeta> = set.rules.iter().map(RuleMeta::from_rule).collect();
        serde_json::to_writer_pretty(&mut out, &metas)?;
        writeln!(out)?;
    }
    Ok(exit::CLEAN)
}

fn rules_check(files: &[PathBuf]) -> Result<u8> {
    let mut specs = Vec::new();
    for f in files {
        for spec in rules::load_rule_file(f)? {
            specs.push((f.display().to_string(), spec));
        }
    }
    let n = specs.len();
    let problems = rules::check::check(specs);
    for p in &problems {
        println!("{p}");
    }
    let errors = problems.iter().filter(|p| !p.warning).count();
    println!(
        "{n} rule(s) checked, {errors} error(s), {} warning(s)",
        problems.len() - errors
    );
    Ok(if errors > 0 {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

/// Everything a scan needs, resolved once.
pub struct Resolved {
    /// Compiled rules.
    pub rules: RuleSet,
    /// Suppression inputs.
    pub suppressor: suppress::Suppressor,
    /// Size policy.
    pub max_file_size: u64,
    /// Notes to report (disabled rules that do not exist, ...).
    pub notes: Vec<String>,
}

/// The directory a scan root stands for (a file's parent).
pub(crate) fn root_dir(root: &Path) -> PathBuf {
    if root.is_dir() {
        root.to_path_buf()
    } else {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// `.preflight.toml` at `root` (or `--config`, which must exist) and its path.
pub(crate) fn load_config(
    explicit: Option<&Path>,
    root: &Path,
) -> Result<(config::FileConfig, PathBuf)> {
    let path = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root_dir(root).join(config::CONFIG_FILE));
    if explicit.is_some() && !path.exists() {
        bail!("config file {} does not exist", path.display());
    }
    let cfg = config::load_file_config(&path)?.unwrap_or_default();
    Ok((cfg, path))
}

/// Everything that suppresses at `root`: `.preflightignore`, `--baseline`, `allow.paths`.
pub(crate) fn load_suppressor(
    root: &Path,
    cfg: &config::FileConfig,
    cfg_path: &Path,
    baseline: Option<&Path>,
) -> Result<suppress::Suppressor> {
    Ok(suppress::Suppressor {
        ignore: suppress::load_ignore_file(&root_dir(root).join(suppress::IGNORE_FILE))?,
        baseline: baseline.map(suppress::load_baseline).transpose()?,
        allow_paths: config::build_allow_paths(cfg_path, &cfg.allow.paths)?,
    })
}

/// Load `.preflight.toml`, rules, ignore file and baseline for `root`.
pub fn resolve(args: &ScanArgs, root: &Path) -> Result<Resolved> {
    let (cfg, cfg_path) = load_config(args.config.as_deref(), root)?;
    let suppressor = load_suppressor(root, &cfg, &cfg_path, args.baseline.as_deref())?;
    let mut specs = RuleSet::builtin_specs().context("loading builtin rules")?;
    let cfg_dir = cfg_path.parent().map(Path::to_path_buf).unwrap_or_default();
    for f in &cfg.rules.files {
        let p = cfg_dir.join(f);
        for spec in rules::load_rule_file(&p)? {
            specs.push((p.display().to_string(), spec));
        }
    }
    for spec in cfg.rule {
        specs.push((cfg_path.display().to_string(), spec));
    }
    let mut notes = Vec::new();
    for id in &cfg.rules.disable {
        if !specs.iter().any(|(_, s)| &s.id == id) {
            notes.push(format!(
                "{}: rules.disable names unknown rule {id:?}",
                cfg_path.display()
            ));
        }
    }
    specs.retain(|(_, s)| !cfg.rules.disable.contains(&s.id));
    let rules = RuleSet::compile(specs)?;
    Ok(Resolved {
        rules,
        suppressor,
        max_file_size: args
            .max_file_size
            .or(cfg.scan.max_file_size)
            .unwrap_or(DEFAULT_MAX_FILE_SIZE),
        notes,
    })
}

/// What one scanned item contributes.
#[derive(Default)]
pub struct ItemOutcome {
    /// Raw findings.
    pub raws: Vec<RawFinding>,
    /// Counter deltas.
    pub stats: Stats,
    /// A failure for this item.
    pub error: Option<ScanError>,
    /// A note for this item.
    pub note: Option<String>,
}

impl Clone for Worker<'_> {
    /// A fresh worker over the same rules (scratch space is not shared).
    fn clone(&self) -> Self {
        Worker::new(self.scanner.rules())
    }
}

/// Per-worker state: scanner and reusable buffers.
pub struct Worker<'r> {
    /// The matcher.
    pub scanner: Scanner<'r>,
    /// Read buffer.
    pub buf: Vec<u8>,
    /// Match scratch.
    pub matches: Vec<scan::Match>,
}

impl<'r> Worker<'r> {
    /// New worker over shared rules.
    pub fn new(rules: &'r RuleSet) -> Self {
        Worker {
            scanner: Scanner::new(rules),
            buf: Vec::new(),
            matches: Vec::new(),
        }
    }

    /// Scan bytes already loaded; fills `out`.
    pub fn scan_bytes(
        &mut self,
        path: &str,
        data: &[u8],
        provenance: &Provenance,
        show: bool,
        out: &mut ItemOutcome,
    ) {
        if scan::is_binary(data) {
            out.stats.skipped_binary += 1;
        } else {
            out.stats.blobs_scanned += 1;
            out.stats.bytes_scanned += data.len() as u64;
        }
        self.matches.clear();
        self.scanner.scan_blob(path, data, &mut self.matches);
        if !self.matches.is_empty() {
            finding::raw_findings(
                self.scanner.rules(),
                path,
                data,
                &self.matches,
                provenance,
                show,
                &mut out.raws,
            );
        }
    }
}

fn scan_file(
    w: &mut Worker<'_>,
    entry: &fs_source::FileEntry,
    max: u64,
    show: bool,
) -> ItemOutcome {
    let mut out = ItemOutcome {
        stats: Stats {
            files: 1,
            ..Stats::default()
        },
        ..Default::default()
    };
    let mut buf = std::mem::take(&mut w.buf);
    match crate::blob::load_file(&entry.abs, max, &mut buf) {
        Err(e) => {
            out.error = Some(ScanError {
                path: entry.rel.clone(),
                message: error_tail(&e.to_string()),
            });
        }
        Ok(crate::blob::Load::TooLarge(n)) => {
            out.stats.skipped_large += 1;
            out.note = Some(format!(
                "{}: skipped, {n} bytes is over the size limit of {max} bytes (--max-file-size)",
                entry.rel
            ));
        }
        Ok(crate::blob::Load::Bytes(loaded)) => {
            w.scan_bytes(
                &entry.rel,
                loaded.bytes(),
                &Provenance::File,
                show,
                &mut out,
            );
        }
    }
    w.buf = buf;
    out
}

/// The message part of "path: cannot read: message".
fn error_tail(s: &str) -> String {
    s.split_once(": ").map_or(s, |(_, m)| m).to_string()
}

/// Scan the working tree under `root` in parallel.
/// `tracked` lists the git index's files (with their blob id when unchanged on disk):
/// those the walk skipped because `.gitignore` matches them are scanned too, since git
/// ignores only untracked files; unchanged files whose blob the history scan already
/// matched (`known`) take that blob's findings instead of being read again.
pub fn scan_worktree(
    root: &Path,
    args: &ScanArgs,
    res: &Resolved,
    tracked: &[(String, Option<gix::ObjectId>)],
    known: Option<&history::KnownBlobs>,
) -> Vec<ItemOutcome> {
    let clean: std::collections::HashMap<&str, gix::ObjectId> = match known {
        Some(k) => tracked
            .iter()
            .filter_map(|(p, id)| {
                id.filter(|id| k.scanned.contains(id))
                    .map(|id| (p.as_str(), id))
            })
            .collect(),
        None => Default::default(),
    };
    let scan_entry =
        |w: &mut Worker<'_>, e: &fs_source::FileEntry| match (clean.get(e.rel.as_str()), known) {
            (Some(id), Some(k)) => reuse_known(k, id, &e.rel),
            _ => scan_file(w, e, res.max_file_size, args.show_secrets),
        };
    let opts = WalkOptions {
        respect_ignore: !args.no_ignore,
        skip_nested_repos: root.join(".git").exists(),
    };
    let (tx, rx) = crossbeam_channel::bounded::<WalkItem>(4096);
    let root_buf = root.to_path_buf();
    let record = !tracked.is_empty();
    let (mut outcomes, visited) = std::thread::scope(|s| {
        let walker = s.spawn(move || {
            let mut visited = std::collections::HashSet::new();
            for item in fs_source::walk(&root_buf, opts) {
                if record {
                    match &item {
                        WalkItem::File(e) => visited.insert(e.rel.clone()),
                        WalkItem::Symlink(rel) => visited.insert(rel.clone()),
                        WalkItem::Error(_) | WalkItem::NestedRepo(_) => false,
                    };
                }
                if tx.send(item).is_err() {
                    break;
                }
            }
            visited
        });
        let outcomes: Vec<ItemOutcome> = rx
            .into_iter()
            .par_bridge()
            .map_init(
                || Worker::new(&res.rules),
                |w, item| match item {
                    WalkItem::File(e) => scan_entry(w, &e),
                    WalkItem::Symlink(_) => ItemOutcome {
                        stats: Stats {
                            skipped_symlinks: 1,
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                    WalkItem::NestedRepo(rel) => ItemOutcome {
                        note: (!args.recurse_submodules).then(|| {
                            format!("{rel}: nested git repository (submodule?) not scanned; --recurse-submodules scans submodules")
                        }),
                        ..Default::default()
                    },
                    WalkItem::Error(e) => ItemOutcome {
                        error: Some(match e {
                            crate::source::Error::Walk { path, message } => ScanError {
                                path: fs_source::rel_path(root, &path),
                                message,
                            },
                        }),
                        ..Default::default()
                    },
                },
            )
            .collect();
        (
            outcomes,
            walker.join().expect("walker thread does not panic"),
        )
    });
    let skipped: Vec<fs_source::FileEntry> = tracked
        .iter()
        .map(|(p, _)| p)
        .filter(|p| !visited.contains(*p))
        .map(|p| fs_source::FileEntry {
            abs: root.join(p),
            rel: p.clone(),
        })
        .filter(|e| std::fs::symlink_metadata(&e.abs).is_ok_and(|m| m.is_file()))
        .collect();
    outcomes.extend(
        skipped
            .par_iter()
            .map_init(|| Worker::new(&res.rules), |w, e| scan_entry(w, e))
            .collect::<Vec<_>>(),
    );
    outcomes
}

/// A working-tree file identical to a blob the history scan matched: its findings,
/// moved to this path with working-tree provenance, without reading the file.
fn reuse_known(k: &history::KnownBlobs, id: &gix::ObjectId, rel: &str) -> ItemOutcome {
    let mut out = ItemOutcome {
        stats: Stats {
            files: 1,
            ..Stats::default()
        },
        ..Default::default()
    };
    if let Some((content, by_path)) = k.raws.get(id) {
        let specific = by_path
            .iter()
            .filter(|(p, _)| p == rel)
            .flat_map(|(_, r)| r.iter());
        for raw in content.iter().chain(specific) {
            let mut raw = raw.clone();
            raw.location.path = rel.to_string();
            raw.location.provenance = Provenance::File;
            out.raws.push(raw);
        }
    }
    out
}

fn add_stats(a: &mut Stats, b: &Stats) {
    a.files += b.files;
    a.blobs_scanned += b.blobs_scanned;
    a.bytes_scanned += b.bytes_scanned;
    a.skipped_binary += b.skipped_binary;
    a.skipped_large += b.skipped_large;
    a.skipped_symlinks += b.skipped_symlinks;
    a.commits += b.commits;
    a.history_blobs += b.history_blobs;
}

/// Fold item outcomes into a sorted report.
pub fn build_report(
    root: &Path,
    args: &ScanArgs,
    res: &Resolved,
    outcomes: Vec<ItemOutcome>,
    started: Instant,
) -> Report {
    let mut stats = Stats::default();
    let mut raws = Vec::new();
    let mut errors = Vec::new();
    let mut notes = res.notes.clone();
    for o in outcomes {
        add_stats(&mut stats, &o.stats);
        raws.extend(o.raws);
        errors.extend(o.error);
        notes.extend(o.note);
    }
    let rules = &res.rules;
    let mut findings = finding::group(
        raws,
        |i| {
            let r = &rules.rules[i as usize];
            (r.spec.id.as_str(), r.spec.name.as_str(), r.spec.severity)
        },
        args.show_secrets,
    );
    let stale = res.suppressor.apply(&mut findings);
    let fired: BTreeMap<String, RuleMeta> = findings
        .iter()
        .filter_map(|f| rules.get(&f.rule_id))
        .map(|r| (r.spec.id.clone(), RuleMeta::from_rule(r)))
        .collect();
    errors.sort();
    notes.sort();
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    Report {
        version: 1,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        root: args.path.display().to_string(),
        root_abs: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
        incomplete: !errors.is_empty(),
        findings,
        rules: fired,
        stats,
        errors,
        notes,
        stale,
        vcs: None,
        show_secrets: args.show_secrets,
    }
}

fn run_scan(args: &ScanArgs) -> Result<u8> {
    let report = scan_report(args)?;
    write_out(&report, args)?;
    Ok(exit::code_for(&report, args.fail_on, false))
}

/// Scan for secrets and return the sorted report, unwritten (`scan` writes it;
/// `check` first adds the dependency audit).
pub fn scan_report(args: &ScanArgs) -> Result<Report> {
    let started = Instant::now();
    let root = args.path.as_path();
    if !root.exists() {
        bail!("{}: no such file or directory", root.display());
    }
    let res = resolve(args, root)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    let (outcomes, notes, vcs) = gather(root, args, &res, &pool)?;
    let mut report = build_report(root, args, &res, outcomes, started);
    report.notes.extend(notes);
    report.notes.sort();
    report.vcs = vcs;
    Ok(report)
}

/// Scan `root` (working tree, history or index as `args` ask) into item outcomes,
/// notes and repository facts; with `--recurse-submodules`, checked-out submodules
/// are scanned the same way and their paths prefixed.
fn gather(
    root: &Path,
    args: &ScanArgs,
    res: &Resolved,
    pool: &rayon::ThreadPool,
) -> Result<(Vec<ItemOutcome>, Vec<String>, Option<report::VcsInfo>)> {
    let wants_git = args.staged
        || args.history_only
        || args.range.is_some()
        || args.since.is_some()
        || !args.branch.is_empty();
    // Discovered even with --no-history: tracked files are scanned even when
    // .gitignore matches them (git ignores only untracked files).
    let discovery = Some(git::discover(root));
    let history_wanted = !args.no_history || args.staged;
    let mut tracked = Vec::new();
    let mut known: Option<history::KnownBlobs> = None;
    let mut outcomes = Vec::new();
    let mut notes = Vec::new();
    let mut vcs = None;
    let mut scan_tree =
        !args.history_only && !args.staged && args.range.is_none() && args.since.is_none();
    match discovery {
        None => {}
        Some(git::Discovery::NotRepo(note)) => {
            if wants_git {
                bail!(
                    "{note}; --staged, --history-only, --range, --since and --branch need a git repository"
                );
            }
            if !args.quiet && history_wanted {
                notes.push(note);
            }
        }
        Some(git::Discovery::Repo(repo)) => {
            vcs = Some(vcs_info(&repo));
            if repo.bare {
                scan_tree = false;
            }
            if scan_tree && !args.no_ignore {
                tracked = git::tracked_files(&repo, root);
            }
            if !history_wanted {
                // Working tree only.
            } else if args.staged {
                outcomes.extend(pool.install(|| scan_staged(&repo, args, res))?);
            } else {
                let (range, why) = range_of(args)?;
                notes.extend(why);
                let scope = git::Scope {
                    refs: args.branch.clone(),
                    range,
                    unreachable: args.unreachable,
                };
                let (o, n, k) = pool.install(|| scan_history(&repo, &scope, args, res))?;
                outcomes.extend(o);
                notes.extend(n);
                known = Some(k);
            }
        }
    }
    if scan_tree {
        outcomes.extend(pool.install(|| scan_worktree(root, args, res, &tracked, known.as_ref())));
    }
    if args.recurse_submodules && vcs.is_some() {
        for sub in submodules_of(root) {
            let sub_root = root.join(&sub);
            if !sub_root.join(".git").exists() {
                notes.push(format!("{sub}: submodule not checked out, not scanned"));
                continue;
            }
            // A submodule has its own refs: ranges and ref filters do not carry over.
            let mut sub_args = args.clone();
            sub_args.path = sub_root.clone();
            sub_args.range = None;
            sub_args.since = None;
            sub_args.branch.clear();
            let (o, n, _) = gather(&sub_root, &sub_args, res, pool)?;
            notes.extend(n.into_iter().map(|n| format!("{sub}: {n}")));
            outcomes.extend(o.into_iter().map(|mut o| {
                for r in &mut o.raws {
                    r.location.path = format!("{sub}/{}", r.location.path);
                }
                if let Some(e) = &mut o.error {
                    e.path = format!("{sub}/{}", e.path);
                }
                o
            }));
        }
    }
    Ok((outcomes, notes, vcs))
}

/// Paths of the submodules (gitlinks) in `root`'s index.
fn submodules_of(root: &Path) -> Vec<String> {
    match git::discover(root) {
        git::Discovery::Repo(r) => git::submodule_paths(&r),
        git::Discovery::NotRepo(_) => Vec::new(),
    }
}

/// A `BASE..HEAD` range, and a note saying how `--range auto` found it.
type RangeAndNote = (Option<(String, String)>, Option<String>);

/// The `--range`/`--since` range, with a note when `--range auto` detected it.
fn range_of(args: &ScanArgs) -> Result<RangeAndNote> {
    if let Some(r) = &args.range {
        if r == "auto" {
            let d =
                crate::ci::detect_range(|k| std::env::var(k).ok(), |p| std::fs::read_to_string(p))?;
            let note = format!("--range auto: {}..{} from {}", d.base, d.head, d.why);
            return Ok((Some((d.base, d.head)), Some(note)));
        }
        let Some((base, head)) = r.split_once("..") else {
            bail!("--range {r:?}: expected BASE..HEAD (or `auto`)");
        };
        let base = base.trim_end_matches('.');
        let head = if head.is_empty() { "HEAD" } else { head };
        if base.is_empty() {
            bail!("--range {r:?}: BASE is empty");
        }
        return Ok((Some((base.to_string(), head.to_string())), None));
    }
    Ok((
        args.since.as_ref().map(|s| (s.clone(), "HEAD".to_string())),
        None,
    ))
}

/// `preflight baseline`: the scan's fingerprints only (no secrets, no snippets).
fn run_baseline(args: &crate::cli::BaselineArgs) -> Result<u8> {
    let report = scan_report(&args.scan)?;
    let findings: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "rule_id": f.rule_id,
                "fingerprint": f.fingerprint,
                "locations": f.locations.iter().map(|l| serde_json::json!({ "path": l.path, "fingerprint": l.fingerprint })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc =
        serde_json::json!({ "version": 1, "kind": "preflight-baseline", "findings": findings });
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    match &args.scan.output {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
            if !args.scan.quiet {
                eprintln!(
                    "wrote {} finding(s) to {}",
                    report.findings.len(),
                    p.display()
                );
            }
        }
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(if report.incomplete {
        exit::ERROR
    } else {
        exit::CLEAN
    })
}

fn run_hook(cmd: &crate::cli::HookCommand) -> Result<u8> {
    let crate::cli::HookCommand::Install { pre_push, force } = cmd;
    let dir = crate::hook::hooks_dir(Path::new("."))?;
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "preflight".into());
    let mut kinds = vec![crate::hook::HookKind::PreCommit];
    if *pre_push {
        kinds.push(crate::hook::HookKind::PrePush);
    }
    for k in kinds {
        let p = crate::hook::install(&dir, k, &exe, *force)?;
        eprintln!("installed {}", p.display());
    }
    Ok(exit::CLEAN)
}

fn run_completions(shell: clap_complete::Shell) -> Result<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "preflight", &mut std::io::stdout());
    Ok(exit::CLEAN)
}

fn vcs_info(repo: &git::Repo) -> report::VcsInfo {
    let r = repo.local();
    let revision = r.head_id().map(|id| id.to_string()).unwrap_or_default();
    let branch = r
        .head_name()
        .ok()
        .flatten()
        .map(|n| n.shorten().to_string());
    let repository_uri = r
        .find_remote("origin")
        .ok()
        .and_then(|rem| {
            rem.url(gix::remote::Direction::Fetch)
                .map(|u| u.to_bstring().to_string())
        })
        .map(|u| strip_url_credentials(&u));
    report::VcsInfo {
        revision,
        branch,
        repository_uri,
        shallow: repo.shallow,
    }
}

/// Remove `user:password@` from a URL before it goes into a report.
fn strip_url_credentials(u: &str) -> String {
    if let Some((scheme, rest)) = u.split_once("://") {
        if let Some(at) = rest.find('@') {
            if rest[..at].find('/').is_none() {
                return format!("{scheme}://{}", &rest[at + 1..]);
            }
        }
    }
    u.to_string()
}

/// Read one object into `buf` under the size policy.
fn read_blob(
    repo: &gix::Repository,
    id: &gix::ObjectId,
    max: u64,
    buf: &mut Vec<u8>,
) -> Result<Option<u64>, String> {
    use gix::objs::FindExt;
    let size = repo.find_header(*id).map_err(|e| e.to_string())?.size();
    if size > max {
        return Ok(Some(size));
    }
    repo.objects.find_blob(id, buf).map_err(|e| e.to_string())?;
    Ok(None)
}

/// Scan the blobs staged in the index that differ from HEAD.
fn scan_staged(repo: &git::Repo, args: &ScanArgs, res: &Resolved) -> Result<Vec<ItemOutcome>> {
    let staged = git::staged_blobs(repo)?;
    let max = res.max_file_size;
    Ok(staged
        .par_iter()
        .map_init(
            || (repo.local(), Worker::new(&res.rules), Vec::new()),
            |(r, w, buf), (path, id)| {
                let mut out = ItemOutcome {
                    stats: Stats {
                        files: 1,
                        ..Default::default()
                    },
                    ..Default::default()
                };
                match read_blob(r, id, max, buf) {
                    Err(e) => {
                        out.error = Some(ScanError {
                            path: path.clone(),
                            message: e,
                        })
                    }
                    Ok(Some(size)) => {
                        out.stats.skipped_large += 1;
                        out.note = Some(format!(
                            "{path}: skipped, {size} bytes is over the size limit of {max} bytes"
                        ));
                    }
                    Ok(None) => {
                        w.scan_bytes(path, buf, &Provenance::Staged, args.show_secrets, &mut out)
                    }
                }
                out
            },
        )
        .collect())
}

/// Write the report to `--output` or stdout.
pub fn write_out(report: &Report, args: &ScanArgs) -> Result<()> {
    match &args.output {
        Some(p) => {
            let f =
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
            let mut w = std::io::BufWriter::new(f);
            report::write_report(report, args.format, false, &mut w)?;
            w.flush()
                .with_context(|| format!("writing {}", p.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let color = args.format == Format::Text
                && !args.no_color
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && stdout.is_terminal();
            let mut w = std::io::BufWriter::new(stdout.lock());
            report::write_report(report, args.format, color, &mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

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
use crate::{config, exit, suppress};

/// Default `--max-file-size`: 25 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 25 << 20;

/// Run the CLI; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(args) => run_scan(&args),
        Command::Rules(RulesCommand::List { format }) => rules_list(format),
        Command::Rules(RulesCommand::Check { files }) => rules_check(&files),
        Command::Init { force } => init(force),
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

/// Load `.preflight.toml`, rules, ignore file and baseline for `root`.
pub fn resolve(args: &ScanArgs, root: &Path) -> Result<Resolved> {
    let dir = if root.is_dir() {
        root.to_path_buf()
    } else {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let cfg_path = args
        .config
        .clone()
        .unwrap_or_else(|| dir.join(config::CONFIG_FILE));
    if args.config.is_some() && !cfg_path.exists() {
        bail!("config file {} does not exist", cfg_path.display());
    }
    let cfg = config::load_file_config(&cfg_path)?.unwrap_or_default();
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
    let ignore = suppress::load_ignore_file(&dir.join(suppress::IGNORE_FILE))?;
    let baseline = match &args.baseline {
        Some(b) => Some(suppress::load_baseline(b)?),
        None => None,
    };
    let allow_paths = config::build_allow_paths(&cfg_path, &cfg.allow.paths)?;
    Ok(Resolved {
        rules,
        suppressor: suppress::Suppressor {
            ignore,
            baseline,
            allow_paths,
        },
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
pub fn scan_worktree(root: &Path, args: &ScanArgs, res: &Resolved) -> Vec<ItemOutcome> {
    let opts = WalkOptions {
        respect_ignore: !args.no_ignore,
    };
    let (tx, rx) = crossbeam_channel::bounded::<WalkItem>(4096);
    let root_buf = root.to_path_buf();
    std::thread::scope(|s| {
        s.spawn(move || {
            for item in fs_source::walk(&root_buf, opts) {
                if tx.send(item).is_err() {
                    break;
                }
            }
        });
        rx.into_iter()
            .par_bridge()
            .map_init(
                || Worker::new(&res.rules),
                |w, item| match item {
                    WalkItem::File(e) => scan_file(w, &e, res.max_file_size, args.show_secrets),
                    WalkItem::Symlink(_) => ItemOutcome {
                        stats: Stats {
                            skipped_symlinks: 1,
                            ..Default::default()
                        },
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
            .collect()
    })
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
    let outcomes = pool.install(|| scan_worktree(root, args, &res));
    let report = build_report(root, args, &res, outcomes, started);
    write_out(&report, args)?;
    Ok(exit::code_for(&report, args.fail_on))
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

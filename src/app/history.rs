//! History scanning: every unique blob reachable from the selected refs is
//! scanned once, then provenance is attached to the blobs that produced findings.
//!
//! For a full-history scan the pack traversal (which inflates each delta base
//! once, on every core) runs *while* the commit and tree walk enumerates which
//! blobs are reachable and where. Blobs are first matched without their path
//! (a superset: path-based rules and filters cannot drop anything yet); the few
//! that matched are re-scanned with their real path once the walk is done.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;

use super::{ItemOutcome, Resolved, Worker, read_blob};
use crate::cli::ScanArgs;
use crate::finding::{self, Provenance, RawFinding};
use crate::report::{ScanError, Stats};
use crate::scan;
use crate::source::git::{self, History};

/// A blob's raw findings: content matches, and file-rule matches per path.
pub type KnownRaws = (Vec<RawFinding>, Vec<(String, Vec<RawFinding>)>);

/// What the history scan learned about blobs, so working-tree files that are
/// unchanged from a scanned blob are not read and matched a second time.
#[derive(Default)]
pub struct KnownBlobs {
    /// Reachable blobs whose content was scanned completely.
    pub scanned: HashSet<gix::ObjectId>,
    /// Raw findings of those blobs: content matches, and file-rule matches per path.
    pub raws: HashMap<gix::ObjectId, KnownRaws>,
}

/// One blob's outcome: content raws (first path) and per-path file-rule raws.
type BlobResult = (usize, ItemOutcome, Vec<(u32, Vec<RawFinding>)>);

/// Counters shared by pack-traversal threads.
#[derive(Default)]
struct Counters {
    scanned: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
}

impl Counters {
    fn count(&self, data: &[u8]) {
        if scan::is_binary(data) {
            self.binary.fetch_add(1, Ordering::Relaxed);
        } else {
            self.scanned.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
    }
    fn stats(&self) -> Stats {
        Stats {
            blobs_scanned: self.scanned.load(Ordering::Relaxed),
            bytes_scanned: self.bytes.load(Ordering::Relaxed),
            skipped_binary: self.binary.load(Ordering::Relaxed),
            ..Stats::default()
        }
    }
}

/// Scan one reachable blob with its real paths.
fn scan_known(
    w: &mut Worker<'_>,
    hist: &History,
    bi: usize,
    data: &[u8],
    show: bool,
) -> BlobResult {
    let blob = &hist.blobs[bi];
    let first = &hist.paths[blob.seen[0].path as usize];
    let rules = w.scanner.rules();
    let mut out = ItemOutcome::default();
    let mut by_path = Vec::new();
    w.matches.clear();
    w.scanner.scan_content(Some(first), data, &mut w.matches);
    if !w.matches.is_empty() {
        finding::raw_findings(
            rules,
            first,
            data,
            &w.matches,
            &Provenance::File,
            show,
            &mut out.raws,
        );
    }
    // File rules depend on the path: check each distinct path.
    for a in &blob.seen {
        let p = &hist.paths[a.path as usize];
        w.matches.clear();
        w.scanner.scan_file_rules(p, data, &mut w.matches);
        if !w.matches.is_empty() {
            let mut raws = Vec::new();
            finding::raw_findings(
                rules,
                p,
                data,
                &w.matches,
                &Provenance::File,
                show,
                &mut raws,
            );
            by_path.push((a.path, raws));
        }
    }
    (bi, out, by_path)
}

fn too_large(hist: &History, bi: usize, size: u64, max: u64) -> BlobResult {
    let blob = &hist.blobs[bi];
    let first = &hist.paths[blob.seen[0].path as usize];
    let out = ItemOutcome {
        stats: Stats {
            skipped_large: 1,
            ..Default::default()
        },
        note: Some(format!(
            "{first} (blob {}): skipped, {size} bytes is over the size limit of {max} bytes",
            blob.id
        )),
        ..Default::default()
    };
    (bi, out, Vec::new())
}

/// Read blobs `todo` one by one (loose objects, re-scans, small ranges) and scan them
/// with their paths. `count` says whether to add them to the scanned-bytes counters.
fn read_and_scan(
    repo: &git::Repo,
    hist: &History,
    todo: Vec<usize>,
    res: &Resolved,
    show: bool,
    counters: Option<&Counters>,
) -> Vec<BlobResult> {
    let max = res.max_file_size;
    todo.into_par_iter()
        .map_init(
            || (repo.local(), Worker::new(&res.rules), Vec::new()),
            |(r, w, buf), bi| match read_blob(r, &hist.blobs[bi].id, max, buf) {
                Ok(None) => {
                    if let Some(c) = counters {
                        c.count(buf);
                    }
                    scan_known(w, hist, bi, buf, show)
                }
                Ok(Some(size)) => too_large(hist, bi, size, max),
                Err(e) => {
                    let blob = &hist.blobs[bi];
                    let first = &hist.paths[blob.seen[0].path as usize];
                    let out = ItemOutcome {
                        error: Some(ScanError {
                            path: format!("{first} (blob {})", blob.id),
                            message: e,
                        }),
                        ..Default::default()
                    };
                    (bi, out, Vec::new())
                }
            },
        )
        .collect()
}

fn timing() -> bool {
    std::env::var_os("PREFLIGHT_TIMING").is_some()
}

/// Scan the history selected by `scope`; returns outcomes (with provenance), notes,
/// and what is known about the scanned blobs.
pub fn scan_history(
    repo: &git::Repo,
    scope: &git::Scope,
    args: &ScanArgs,
    res: &Resolved,
) -> Result<(Vec<ItemOutcome>, Vec<String>, KnownBlobs)> {
    let t0 = Instant::now();
    let full = scope.range.is_none() && scope.refs.is_empty();
    let counters = Counters::default();
    let max = res.max_file_size;
    let progress = crate::progress::Progress::new("history", None, args.quiet);
    let done_bytes = AtomicU64::new(0);
    let mut unreachable = Vec::new();
    if args.unreachable && !full {
        anyhow::bail!("--unreachable needs a full history scan (no --range, --since or --branch)");
    }
    let (hist, mut results, pack_errors) = if full {
        // Pass 1, concurrently: walk commits and trees on this thread's helper while
        // every blob in the packs is matched without its path.
        let flagged: Mutex<Vec<gix::ObjectId>> = Mutex::new(Vec::new());
        let oversized: Mutex<Vec<(gix::ObjectId, u64)>> = Mutex::new(Vec::new());
        let packed: Mutex<HashSet<gix::ObjectId>> = Mutex::new(HashSet::new());
        let (hist, pack_errors) = std::thread::scope(|s| {
            let walker = s.spawn(|| git::enumerate(repo, scope));
            let errors = git::for_each_packed_blob(
                repo,
                None,
                args.threads,
                Worker::new(&res.rules),
                |w, oid, data| {
                    packed.lock().expect("lock").insert(*oid);
                    if data.len() as u64 > max {
                        oversized
                            .lock()
                            .expect("lock")
                            .push((*oid, data.len() as u64));
                        return;
                    }
                    counters.count(data);
                    progress.inc(data.len() as u64, &done_bytes);
                    w.matches.clear();
                    w.scanner.scan_content(None, data, &mut w.matches);
                    if w.matches.is_empty() {
                        // Path-only rules (.env, key files) are checked after the walk.
                        return;
                    }
                    flagged.lock().expect("lock").push(*oid);
                },
            );
            (
                walker.join().expect("history walker does not panic"),
                errors,
            )
        });
        let hist = hist?;
        if timing() {
            eprintln!("timing: walk + pack pass {:?}", t0.elapsed());
        }
        // Pass 2: blobs that matched, blobs only a path rule can flag, and loose blobs,
        // read again and scanned with their real paths.
        let flagged: HashSet<gix::ObjectId> =
            flagged.into_inner().expect("lock").into_iter().collect();
        let oversized: HashMap<gix::ObjectId, u64> =
            oversized.into_inner().expect("lock").into_iter().collect();
        let packed = packed.into_inner().expect("lock");
        let mut again = Vec::new();
        let mut loose = Vec::new();
        let mut results = Vec::new();
        for (bi, b) in hist.blobs.iter().enumerate() {
            if let Some(&size) = oversized.get(&b.id) {
                // Size known from the traversal; no need to read it again.
                results.push(too_large(&hist, bi, size, max));
            } else if !packed.contains(&b.id) {
                loose.push(bi);
            } else if flagged.contains(&b.id)
                || b.seen
                    .iter()
                    .any(|a| res.rules.any_path_rule(&hist.paths[a.path as usize]))
            {
                again.push(bi);
            }
        }
        results.extend(read_and_scan(
            repo,
            &hist,
            again,
            res,
            args.show_secrets,
            None,
        ));
        results.extend(read_and_scan(
            repo,
            &hist,
            loose,
            res,
            args.show_secrets,
            Some(&counters),
        ));
        if args.unreachable {
            unreachable = scan_unreachable(
                repo,
                &hist,
                &flagged,
                &packed,
                res,
                args.show_secrets,
                &counters,
            );
        }
        (hist, results, pack_errors)
    } else {
        // A range or selected refs: enumerate first, then read just those blobs.
        let hist = git::enumerate(repo, scope)?;
        let todo: Vec<usize> = (0..hist.blobs.len()).collect();
        let results = read_and_scan(repo, &hist, todo, res, args.show_secrets, Some(&counters));
        (hist, results, Vec::new())
    };
    progress.finish();
    let t_scan = t0.elapsed();
    results.retain(|(_, o, by_path)| {
        !o.raws.is_empty()
            || !by_path.is_empty()
            || o.error.is_some()
            || o.note.is_some()
            || o.stats.skipped_large > 0
    });
    results.sort_by_key(|(bi, _, _)| *bi);
    let mut known = KnownBlobs::default();
    let failed: HashSet<usize> = results
        .iter()
        .filter(|(_, o, _)| o.error.is_some() || o.stats.skipped_large > 0)
        .map(|(bi, _, _)| *bi)
        .collect();
    known.scanned = hist
        .blobs
        .iter()
        .enumerate()
        .filter(|(i, _)| !failed.contains(i))
        .map(|(_, b)| b.id)
        .collect();
    for (bi, o, by_path) in &results {
        if !o.raws.is_empty() || !by_path.is_empty() {
            let per_path = by_path
                .iter()
                .map(|(p, r)| (hist.paths[*p as usize].clone(), r.clone()))
                .collect();
            known
                .raws
                .insert(hist.blobs[*bi].id, (o.raws.clone(), per_path));
        }
    }
    let mut outcomes = attach_provenance(repo, &hist, results);
    outcomes.extend(unreachable);
    let mut summary = ItemOutcome {
        stats: counters.stats(),
        ..Default::default()
    };
    summary.stats.commits = hist.commits.len() as u64;
    summary.stats.history_blobs = hist.blobs.len() as u64;
    outcomes.push(summary);
    for (what, msg) in hist.errors.iter().cloned().chain(pack_errors) {
        outcomes.push(ItemOutcome {
            error: Some(ScanError {
                path: what,
                message: msg,
            }),
            ..Default::default()
        });
    }
    if timing() {
        eprintln!(
            "timing: scan {:?}, provenance {:?}",
            t_scan,
            t0.elapsed() - t_scan
        );
    }
    Ok((outcomes, hist.notes, known))
}

/// `--unreachable`: blobs no walked ref reaches, packed (matched in the path-free pass)
/// or loose, scanned without a path; their findings carry the blob id.
fn scan_unreachable(
    repo: &git::Repo,
    hist: &History,
    flagged: &HashSet<gix::ObjectId>,
    packed: &HashSet<gix::ObjectId>,
    res: &Resolved,
    show: bool,
    counters: &Counters,
) -> Vec<ItemOutcome> {
    let reachable: HashSet<gix::ObjectId> = hist.blobs.iter().map(|b| b.id).collect();
    let r = repo.local();
    let mut todo: Vec<gix::ObjectId> = flagged
        .iter()
        .filter(|id| !reachable.contains(*id))
        .copied()
        .collect();
    // Loose objects never went through the pack pass: list them and keep the blobs.
    if let Ok(all) = r.objects.iter() {
        for id in all.filter_map(Result::ok) {
            if !packed.contains(&id)
                && !reachable.contains(&id)
                && r.find_header(id)
                    .is_ok_and(|h| h.kind() == gix::objs::Kind::Blob)
            {
                todo.push(id);
            }
        }
    }
    todo.sort();
    todo.dedup();
    let max = res.max_file_size;
    todo.into_par_iter()
        .map_init(
            || (repo.local(), Worker::new(&res.rules), Vec::new()),
            |(r, w, buf), id| {
                let mut out = ItemOutcome::default();
                let path = format!("(unreachable blob {id})");
                match read_blob(r, &id, max, buf) {
                    Ok(None) => {
                        if !packed.contains(&id) {
                            counters.count(buf);
                        }
                        w.matches.clear();
                        w.scanner.scan_content(None, buf, &mut w.matches);
                        let prov = Provenance::Unreachable {
                            blob: id.to_string(),
                        };
                        finding::raw_findings(
                            w.scanner.rules(),
                            &path,
                            buf,
                            &w.matches,
                            &prov,
                            show,
                            &mut out.raws,
                        );
                    }
                    Ok(Some(_)) => out.stats.skipped_large += 1,
                    Err(e) => out.error = Some(ScanError { path, message: e }),
                }
                out
            },
        )
        .collect()
}

/// At most this many (blob, path) removals are resolved per scan (each is linear in
/// the number of tree nodes); beyond it `removed_in` is left empty.
const MAX_REMOVAL_LOOKUPS: usize = 2000;

/// Expand each blob's raw findings to every path it appeared at, with the commit
/// that introduced it there, whether HEAD still has it and the commit that removed
/// it. Runs only for blobs that produced findings.
fn attach_provenance(
    repo: &git::Repo,
    hist: &History,
    results: Vec<BlobResult>,
) -> Vec<ItemOutcome> {
    let r = repo.local();
    let any = results
        .iter()
        .any(|(_, o, p)| !o.raws.is_empty() || !p.is_empty());
    let head = if any {
        git::head_tree_blobs(&r)
    } else {
        HashMap::new()
    };
    // Which appearances carry findings, and which of those are gone from HEAD.
    let mut lookups: Vec<(u32, u32, u32)> = Vec::new();
    for (bi, out, by_path) in &results {
        let blob = &hist.blobs[*bi];
        for a in &blob.seen {
            let has = !out.raws.is_empty() || by_path.iter().any(|(p, _)| *p == a.path);
            if has && head.get(&hist.paths[a.path as usize]) != Some(&blob.id) {
                lookups.push((blob.walk_index, a.path, a.commit));
            }
        }
    }
    let removed: HashMap<(u32, u32, u32), gix::ObjectId> = lookups
        .iter()
        .zip(git::removals(hist, &lookups, MAX_REMOVAL_LOOKUPS))
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    let mut facts: HashMap<u32, Option<git::CommitFacts>> = HashMap::new();
    let mut outcomes = Vec::with_capacity(results.len() + 1);
    for (bi, mut out, by_path) in results {
        let blob = &hist.blobs[bi];
        let content = std::mem::take(&mut out.raws);
        let mut expanded = Vec::new();
        for a in &blob.seen {
            let specific: Vec<&RawFinding> = by_path
                .iter()
                .filter(|(p, _)| *p == a.path)
                .flat_map(|(_, raws)| raws.iter())
                .collect();
            if content.is_empty() && specific.is_empty() {
                continue;
            }
            let path = &hist.paths[a.path as usize];
            let commit = &hist.commits[a.commit as usize];
            let f = facts
                .entry(a.commit)
                .or_insert_with(|| git::commit_facts(&r, &commit.id))
                .clone();
            let in_head = head.get(path) == Some(&blob.id);
            let removed_in = removed
                .get(&(blob.walk_index, a.path, a.commit))
                .map(|c| c.to_string());
            let prov = Provenance::Git(finding::GitProvenance {
                commit: commit.id.to_string(),
                author: f.as_ref().map(|f| f.author.clone()).unwrap_or_default(),
                email: f.as_ref().map(|f| f.email.clone()).unwrap_or_default(),
                date: f.as_ref().map(|f| f.date.clone()).unwrap_or_default(),
                summary: f.as_ref().map(|f| f.summary.clone()).unwrap_or_default(),
                refs: refs_of(hist, a.commit),
                in_head,
                removed_in,
            });
            for raw in content.iter().chain(specific) {
                let mut raw = raw.clone();
                raw.location.path = path.clone();
                raw.location.provenance = prov.clone();
                expanded.push(raw);
            }
        }
        out.raws = expanded;
        outcomes.push(out);
    }
    outcomes
}

/// Names of the refs that reach commit `ci` (at most five, then a count).
fn refs_of(hist: &History, ci: u32) -> Vec<String> {
    let mask = hist.ref_masks[ci as usize];
    let mut names: Vec<String> = (0..hist.ref_names.len())
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| hist.ref_names[b].clone())
        .collect();
    let extra = names.len().saturating_sub(5) + usize::from(mask & (1 << 63) != 0);
    names.truncate(5);
    if extra > 0 {
        names.push(format!("(+{extra} more)"));
    }
    names
}

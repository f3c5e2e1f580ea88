//! Git history source (gix, no `git` subprocess): enumerate the commits
//! reachable from refs, walk their trees once each (per path), and list every
//! unique blob with the oldest commit that introduced it at each path. Also
//! ranges (`BASE..HEAD`), the index (`--staged`) and provenance for blobs that
//! produced findings. This module reads objects; it never matches or reports.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use gix::ObjectId;
use gix::objs::FindExt;

/// Errors opening or walking a repository.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// gix could not open the repository.
    #[error("{path}: cannot open git repository: {message}")]
    Open {
        /// The path.
        path: String,
        /// gix's message.
        message: String,
    },
    /// A revision could not be resolved.
    #[error("cannot resolve revision {rev:?}: {message}")]
    Rev {
        /// The revision.
        rev: String,
        /// Why.
        message: String,
    },
    /// Reading refs failed.
    #[error("cannot read refs: {message}")]
    Refs {
        /// Why.
        message: String,
    },
    /// The index could not be read.
    #[error("cannot read the index: {message}")]
    Index {
        /// Why.
        message: String,
    },
}

/// A repository opened for scanning.
pub struct Repo {
    /// Thread-safe handle; workers call `to_thread_local()`.
    pub repo: gix::ThreadSafeRepository,
    /// Shallow clone.
    pub shallow: bool,
    /// Bare repository (no working tree).
    pub bare: bool,
}

/// Outcome of looking for a repository at a scan root.
pub enum Discovery {
    /// `path` is the root of a repository's work tree, or a bare repository / `.git` dir.
    Repo(Box<Repo>),
    /// Not a repository (or a subdirectory of one): scan files only, with this note.
    NotRepo(String),
}

/// Open the repository whose work tree root (or git dir) is `path`.
pub fn discover(path: &Path) -> Discovery {
    let opts = gix::open::Options::isolated();
    let repo = match gix::ThreadSafeRepository::open_opts(path, opts) {
        Ok(r) => r,
        Err(e) => {
            let inside = gix::discover(path).is_ok();
            return Discovery::NotRepo(if inside {
                format!(
                    "{} is inside a git repository but not its root: history not scanned (scan the root for history)",
                    path.display()
                )
            } else {
                let _ = e;
                format!(
                    "{} is not a git repository: working tree only",
                    path.display()
                )
            });
        }
    };
    let local = repo.to_thread_local();
    let shallow = local.is_shallow().unwrap_or(false);
    let bare = local.workdir().is_none();
    Discovery::Repo(Box::new(Repo {
        repo,
        shallow,
        bare,
    }))
}

/// Which commits to walk.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Limit to these refs (names or revisions); empty = every ref.
    pub refs: Vec<String>,
    /// `BASE..HEAD`: (base, head).
    pub range: Option<(String, String)>,
}

/// One commit in the walked graph.
#[derive(Debug, Clone)]
pub struct CommitNode {
    /// Commit id.
    pub id: ObjectId,
    /// Root tree.
    pub tree: ObjectId,
    /// Parent indices (only parents in the walked set).
    pub parents: Vec<u32>,
}

/// Where a blob appeared: path index and the introducing commit index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appearance {
    /// Index into [`History::paths`].
    pub path: u32,
    /// Index into [`History::commits`] of the oldest commit with this blob at this path.
    pub commit: u32,
}

/// A unique blob and every path it appeared at.
#[derive(Debug, Clone)]
pub struct HistoryBlob {
    /// Blob id.
    pub id: ObjectId,
    /// Appearances, in discovery (oldest-first) order.
    pub seen: Vec<Appearance>,
}

/// The enumerated history.
#[derive(Debug, Default)]
pub struct History {
    /// Walked commits.
    pub commits: Vec<CommitNode>,
    /// Unique blobs.
    pub blobs: Vec<HistoryBlob>,
    /// Interned paths.
    pub paths: Vec<String>,
    /// Ref names (bit i of a mask = `ref_names[i]`; bit 63 = "other refs").
    pub ref_names: Vec<String>,
    /// Per commit: which refs reach it.
    pub ref_masks: Vec<u64>,
    /// Objects that could not be read: (object description, message).
    pub errors: Vec<(String, String)>,
    /// Notes (submodules skipped, range facts).
    pub notes: Vec<String>,
}

fn rev_err(rev: &str, e: impl std::fmt::Display) -> Error {
    Error::Rev {
        rev: rev.to_string(),
        message: e.to_string(),
    }
}

/// Resolve a revision to a commit id.
pub fn resolve_commit(repo: &gix::Repository, rev: &str) -> Result<ObjectId, Error> {
    let id = repo.rev_parse_single(rev).map_err(|e| rev_err(rev, e))?;
    let obj = id.object().map_err(|e| rev_err(rev, e))?;
    let commit = obj
        .peel_to_kind(gix::object::Kind::Commit)
        .map_err(|e| rev_err(rev, e))?;
    Ok(commit.id)
}

/// Every ref (branches, tags, remotes, stash, notes) peeled to a commit, sorted by name
/// with HEAD's branch first.
fn ref_tips(repo: &gix::Repository, only: &[String]) -> Result<Vec<(String, ObjectId)>, Error> {
    let mut tips = Vec::new();
    if only.is_empty() {
        let platform = repo.references().map_err(|e| Error::Refs {
            message: e.to_string(),
        })?;
        for r in platform.all().map_err(|e| Error::Refs {
            message: e.to_string(),
        })? {
            let Ok(mut r) = r else { continue };
            let name = r.name().as_bstr().to_string();
            let Ok(id) = r.peel_to_id() else { continue };
            let Ok(obj) = id.object() else { continue };
            if let Ok(c) = obj.peel_to_kind(gix::object::Kind::Commit) {
                tips.push((name, c.id));
            }
        }
        if let Ok(head) = repo.head_id() {
            tips.push(("HEAD".to_string(), head.detach()));
        }
        let head_name = repo
            .head_name()
            .ok()
            .flatten()
            .map(|n| n.as_bstr().to_string());
        tips.sort_by_key(|(n, _)| {
            (
                Some(n) != head_name.as_ref(),
                n.starts_with("refs/heads/").then_some(0).unwrap_or(1),
                n.clone(),
            )
        });
    } else {
        for r in only {
            tips.push((r.clone(), resolve_commit(repo, r)?));
        }
    }
    Ok(tips)
}

/// Walk commits from `tips`, not entering `hidden`; returns nodes and unresolved parents.
fn walk_commits(
    repo: &gix::Repository,
    tips: &[ObjectId],
    hidden: &HashSet<ObjectId>,
    errors: &mut Vec<(String, String)>,
    shallow: &HashSet<ObjectId>,
) -> (Vec<CommitNode>, HashMap<ObjectId, u32>) {
    let mut index: HashMap<ObjectId, u32> = HashMap::new();
    let mut nodes: Vec<CommitNode> = Vec::new();
    let mut parent_ids: Vec<Vec<ObjectId>> = Vec::new();
    let mut stack: Vec<ObjectId> = tips.iter().rev().copied().collect();
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if index.contains_key(&id) || hidden.contains(&id) {
            continue;
        }
        let iter = match repo.objects.find_commit_iter(&id, &mut buf) {
            Ok(i) => i,
            Err(e) => {
                errors.push((format!("commit {id}"), e.to_string()));
                continue;
            }
        };
        let mut iter2 = iter.clone();
        let tree = match iter2.tree_id() {
            Ok(t) => t,
            Err(e) => {
                errors.push((format!("commit {id}"), e.to_string()));
                continue;
            }
        };
        let parents: Vec<ObjectId> = if shallow.contains(&id) {
            Vec::new()
        } else {
            iter.parent_ids().collect()
        };
        index.insert(id, nodes.len() as u32);
        nodes.push(CommitNode {
            id,
            tree,
            parents: Vec::new(),
        });
        for p in parents.iter().rev() {
            if !index.contains_key(p) && !hidden.contains(p) {
                stack.push(*p);
            }
        }
        parent_ids.push(parents);
    }
    for (n, ps) in nodes.iter_mut().zip(parent_ids) {
        n.parents = ps.iter().filter_map(|p| index.get(p).copied()).collect();
    }
    (nodes, index)
}

/// Indices ordered parents before children.
fn parents_first(nodes: &[CommitNode]) -> Vec<u32> {
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
    let mut pending: Vec<u32> = vec![0; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        pending[i] = n.parents.len() as u32;
        for &p in &n.parents {
            children[p as usize].push(i as u32);
        }
    }
    // Roots in reverse discovery order approximate "oldest first" for unrelated histories.
    let mut ready: Vec<u32> = (0..nodes.len() as u32)
        .filter(|&i| pending[i as usize] == 0)
        .collect();
    ready.reverse();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for &c in children[i as usize].iter().rev() {
            pending[c as usize] -= 1;
            if pending[c as usize] == 0 {
                ready.push(c);
            }
        }
    }
    order
}

/// Path interner.
#[derive(Default)]
struct Paths {
    list: Vec<String>,
    index: HashMap<String, u32>,
}

impl Paths {
    fn intern(&mut self, p: &str) -> u32 {
        if let Some(&i) = self.index.get(p) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(p.to_string());
        self.index.insert(p.to_string(), i);
        i
    }
}

struct TreeWalk<'a> {
    repo: &'a gix::Repository,
    paths: Paths,
    seen_trees: HashSet<(ObjectId, u32)>,
    blob_index: HashMap<ObjectId, u32>,
    blobs: Vec<HistoryBlob>,
    /// Blobs present before the range (excluded from scanning).
    excluded: HashSet<ObjectId>,
    errors: Vec<(String, String)>,
    submodules: usize,
}

impl TreeWalk<'_> {
    /// Walk `tree` at `prefix` for `commit`; `record=false` only marks (range boundary).
    fn walk(&mut self, tree: ObjectId, prefix: &str, commit: u32, record: bool) {
        let prefix_idx = self.paths.intern(prefix);
        if !self.seen_trees.insert((tree, prefix_idx)) {
            return;
        }
        let mut buf = Vec::new();
        let entries: Vec<(gix::objs::tree::EntryMode, String, ObjectId)> =
            match self.repo.objects.find_tree_iter(&tree, &mut buf) {
                Ok(iter) => {
                    let mut v = Vec::new();
                    for e in iter {
                        match e {
                            Ok(e) => v.push((e.mode, e.filename.to_string(), e.oid.to_owned())),
                            Err(err) => {
                                self.errors.push((
                                    format!("tree {tree} ({})", display_dir(prefix)),
                                    err.to_string(),
                                ));
                                break;
                            }
                        }
                    }
                    v
                }
                Err(e) => {
                    self.errors.push((
                        format!("tree {tree} ({})", display_dir(prefix)),
                        e.to_string(),
                    ));
                    return;
                }
            };
        for (mode, name, oid) in entries {
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if mode.is_tree() {
                self.walk(oid, &path, commit, record);
            } else if mode.is_blob() {
                if !record {
                    self.excluded.insert(oid);
                    continue;
                }
                if self.excluded.contains(&oid) {
                    continue;
                }
                let p = self.paths.intern(&path);
                let next = self.blobs.len() as u32;
                let bi = *self.blob_index.entry(oid).or_insert(next);
                if bi == next {
                    self.blobs.push(HistoryBlob {
                        id: oid,
                        seen: Vec::new(),
                    });
                }
                let b = &mut self.blobs[bi as usize];
                if !b.seen.iter().any(|a| a.path == p) {
                    b.seen.push(Appearance { path: p, commit });
                }
            } else if mode.is_commit() && record {
                self.submodules += 1;
            }
        }
    }
}

fn display_dir(prefix: &str) -> &str {
    if prefix.is_empty() { "/" } else { prefix }
}

/// Enumerate commits and unique blobs for `scope`.
pub fn enumerate(r: &Repo, scope: &Scope) -> Result<History, Error> {
    let repo = r.repo.to_thread_local();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let shallow: HashSet<ObjectId> = repo
        .shallow_commits()
        .ok()
        .flatten()
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    let (tips, hidden, boundary_names) = match &scope.range {
        Some((base, head)) => {
            let b = resolve_commit(&repo, base).map_err(|e| {
                if r.shallow {
                    rev_err(base, format!("{e}; this is a shallow clone: fetch more history (e.g. `git fetch --unshallow` or `fetch-depth: 0`)"))
                } else {
                    e
                }
            })?;
            let h = resolve_commit(&repo, head)?;
            let mut hidden = HashSet::new();
            if b == h {
                notes.push(format!("range {base}..{head} is empty (base equals head): scanning the changes of commit {h} itself"));
                let mut buf = Vec::new();
                if let Ok(iter) = repo.objects.find_commit_iter(&h, &mut buf) {
                    hidden.extend(iter.parent_ids());
                }
            } else {
                let (nodes, _) =
                    walk_commits(&repo, &[b], &HashSet::new(), &mut Vec::new(), &shallow);
                hidden.extend(nodes.iter().map(|n| n.id));
            }
            (vec![(head.clone(), h)], hidden, true)
        }
        None => {
            let tips = ref_tips(&repo, &scope.refs)?;
            (tips, HashSet::new(), false)
        }
    };
    let tip_ids: Vec<ObjectId> = tips.iter().map(|t| t.1).collect();
    let (commits, index) = walk_commits(&repo, &tip_ids, &hidden, &mut errors, &shallow);
    if boundary_names && commits.is_empty() {
        notes.push("range holds no commits that are not in its base: nothing new to scan".into());
    }
    // Ref masks: bit per ref (63 = others), propagated child -> parent.
    let order = parents_first(&commits);
    let mut ref_names: Vec<String> = Vec::new();
    let mut masks = vec![0u64; commits.len()];
    for (name, id) in &tips {
        if let Some(&ci) = index.get(id) {
            let bit = if ref_names.len() < 63 {
                ref_names.push(name.clone());
                ref_names.len() - 1
            } else {
                63
            };
            masks[ci as usize] |= 1 << bit;
        }
    }
    for &i in order.iter().rev() {
        let m = masks[i as usize];
        for &p in &commits[i as usize].parents.clone() {
            masks[p as usize] |= m;
        }
    }
    let mut tw = TreeWalk {
        repo: &repo,
        paths: Paths::default(),
        seen_trees: HashSet::new(),
        blob_index: HashMap::new(),
        blobs: Vec::new(),
        excluded: HashSet::new(),
        errors: Vec::new(),
        submodules: 0,
    };
    // Range: blobs already in the base side's trees are not new.
    if !hidden.is_empty() {
        let mut boundary: HashSet<ObjectId> = HashSet::new();
        let mut buf = Vec::new();
        for c in &commits {
            if let Ok(iter) = repo.objects.find_commit_iter(&c.id, &mut buf) {
                boundary.extend(iter.parent_ids().filter(|p| hidden.contains(p)));
            }
        }
        for b in boundary {
            if let Ok(mut iter) = repo.objects.find_commit_iter(&b, &mut buf) {
                if let Ok(t) = iter.tree_id() {
                    tw.walk(t, "", 0, false);
                }
            }
        }
        tw.seen_trees.clear();
    }
    for &ci in &order {
        let tree = commits[ci as usize].tree;
        tw.walk(tree, "", ci, true);
    }
    if tw.submodules > 0 {
        notes.push(format!(
            "{} submodule entr(ies) in history not recursed into",
            tw.submodules
        ));
    }
    if r.shallow {
        notes.push("shallow clone: only the fetched part of history was scanned".into());
    }
    errors.extend(tw.errors);
    Ok(History {
        commits,
        blobs: tw.blobs,
        paths: tw.paths.list,
        ref_names,
        ref_masks: masks,
        errors,
        notes,
    })
}

/// Facts about one commit for provenance.
#[derive(Debug, Clone)]
pub struct CommitFacts {
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, RFC 3339 UTC.
    pub date: String,
    /// Summary line.
    pub summary: String,
}

/// Decode author, date and summary of a commit.
pub fn commit_facts(repo: &gix::Repository, id: &ObjectId) -> Option<CommitFacts> {
    let mut buf = Vec::new();
    let c = repo.objects.find_commit(id, &mut buf).ok()?;
    let author = c.author().ok()?;
    let secs = author.time().map(|t| t.seconds).unwrap_or(0);
    Some(CommitFacts {
        author: author.name.to_string(),
        email: author.email.to_string(),
        date: rfc3339(secs),
        summary: c.message().summary().to_string(),
    })
}

/// Format Unix seconds as RFC 3339 UTC (civil-from-days, no time-zone database needed).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// Paths → blob ids of HEAD's tree.
pub fn head_tree_blobs(repo: &gix::Repository) -> HashMap<String, ObjectId> {
    let mut out = HashMap::new();
    let Ok(tree) = repo.head_tree() else {
        return out;
    };
    fn rec(
        repo: &gix::Repository,
        id: ObjectId,
        prefix: &str,
        out: &mut HashMap<String, ObjectId>,
    ) {
        let mut buf = Vec::new();
        let Ok(iter) = repo.objects.find_tree_iter(&id, &mut buf) else {
            return;
        };
        let entries: Vec<_> = iter
            .filter_map(Result::ok)
            .map(|e| (e.mode, e.filename.to_string(), e.oid.to_owned()))
            .collect();
        for (mode, name, oid) in entries {
            let p = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if mode.is_tree() {
                rec(repo, oid, &p, out);
            } else if mode.is_blob() {
                out.insert(p, oid);
            }
        }
    }
    rec(repo, tree.id, "", &mut out);
    out
}

/// Staged blobs: index entries whose blob differs from HEAD's tree at that path.
pub fn staged_blobs(r: &Repo) -> Result<Vec<(String, ObjectId)>, Error> {
    let repo = r.repo.to_thread_local();
    let index = repo.open_index().map_err(|e| Error::Index {
        message: e.to_string(),
    })?;
    let head = head_tree_blobs(&repo);
    let mut out = Vec::new();
    for entry in index.entries() {
        if !entry.mode.is_submodule() && entry.stage_raw() == 0 {
            let path = entry.path(&index).to_string();
            if head.get(&path) != Some(&entry.id)
                && !entry.mode.contains(gix::index::entry::Mode::SYMLINK)
            {
                out.push((path, entry.id));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}

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

impl Repo {
    /// A thread-local handle with caches sized for full-history reads: a memory-capped
    /// delta-base cache so chains shared by consecutive trees are inflated once.
    pub fn local(&self) -> gix::Repository {
        let mut repo = self.repo.to_thread_local();
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                128 << 20,
            ))
        });
        repo.object_cache_size(Some(16 << 20));
        repo
    }
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
    /// Also walk commits no ref reaches (`--unreachable`).
    pub unreachable: bool,
}

/// Name given to commits reached only through unreachable (dangling) commits.
pub const UNREACHABLE_REF: &str = "(unreachable)";

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
    /// Index of the blob in the walk's records (see [`WalkGraph`]).
    pub walk_index: u32,
}

/// The (tree, path) node graph kept from the walk, for "removed in" lookups.
#[derive(Debug, Default)]
pub struct WalkGraph {
    /// Per commit: its root node (`u32::MAX` if its tree could not be read).
    pub root_node: Vec<u32>,
    /// Per node: child tree nodes.
    pub children: Vec<Vec<u32>>,
    /// Per node: path depth.
    pub depth: Vec<u16>,
    /// (walk blob index, path index, node) for every blob entry of every decoded tree.
    pub records: Vec<(u32, u32, u32)>,
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
    /// Tree node graph, for provenance lookups.
    pub graph: WalkGraph,
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
                if n.starts_with("refs/heads/") { 0 } else { 1 },
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
        let mut iter2 = iter;
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

/// What the tree walk produced: blobs, interned paths, errors, submodule count.
type WalkResult = (
    Vec<HistoryBlob>,
    Vec<String>,
    Vec<(String, String)>,
    usize,
    WalkGraph,
);

/// Tree walk over the (tree id, path) DAG. Commits are visited newest first, so
/// delta chains (newest versions stored whole) resolve from cached bases, and each
/// (tree, path) node is decoded once. The oldest commit holding each node is then
/// propagated down by path depth, which gives every (blob, path) its introducing commit.
struct TreeWalk<'a> {
    repo: &'a gix::Repository,
    paths: Paths,
    nodes: HashMap<(ObjectId, u32), u32>,
    node_depth: Vec<u16>,
    /// Per node: the smallest parents-first position of a commit that reaches it.
    node_oldest: Vec<u32>,
    children: Vec<Vec<u32>>,
    /// (blob index, path index, parent node) for every blob entry of every decoded tree.
    records: Vec<(u32, u32, u32)>,
    blob_index: HashMap<ObjectId, u32>,
    blob_ids: Vec<ObjectId>,
    /// Blobs present before the range (excluded from scanning).
    excluded: HashSet<ObjectId>,
    errors: Vec<(String, String)>,
    submodules: usize,
    bufs: Vec<Vec<u8>>,
    scratch: String,
    root_node: Vec<u32>,
}

impl<'a> TreeWalk<'a> {
    fn new(repo: &'a gix::Repository) -> Self {
        TreeWalk {
            repo,
            paths: Paths::default(),
            nodes: HashMap::new(),
            node_depth: Vec::new(),
            node_oldest: Vec::new(),
            children: Vec::new(),
            records: Vec::new(),
            blob_index: HashMap::new(),
            blob_ids: Vec::new(),
            excluded: HashSet::new(),
            errors: Vec::new(),
            submodules: 0,
            bufs: Vec::new(),
            scratch: String::new(),
            root_node: Vec::new(),
        }
    }

    fn node(&mut self, tree: ObjectId, path: u32, depth: u16, oldest: u32) -> (u32, bool) {
        if let Some(&n) = self.nodes.get(&(tree, path)) {
            return (n, false);
        }
        let n = self.node_depth.len() as u32;
        self.nodes.insert((tree, path), n);
        self.node_depth.push(depth);
        self.node_oldest.push(oldest);
        self.children.push(Vec::new());
        (n, true)
    }

    /// Visit commit `ci`'s root tree; `pos` is the commit's parents-first position.
    fn visit_root(&mut self, ci: u32, tree: ObjectId, pos: u32) {
        let root = self.paths.intern("");
        let (n, new) = self.node(tree, root, 0, pos);
        if self.root_node.len() <= ci as usize {
            self.root_node.resize(ci as usize + 1, u32::MAX);
        }
        self.root_node[ci as usize] = n;
        let o = &mut self.node_oldest[n as usize];
        *o = (*o).min(pos);
        if new {
            self.decode(n, tree, "", 0);
        }
    }

    /// Read tree `id` into the buffer for `depth` (taken out so recursion can use others).
    fn read(&mut self, id: ObjectId, depth: usize, prefix: &str) -> Option<Vec<u8>> {
        if self.bufs.len() <= depth {
            self.bufs.resize_with(depth + 1, Vec::new);
        }
        let mut buf = std::mem::take(&mut self.bufs[depth]);
        match self.repo.objects.find_tree_iter(&id, &mut buf) {
            Ok(_) => Some(buf),
            Err(e) => {
                self.errors.push((
                    format!("tree {id} ({})", display_dir(prefix)),
                    e.to_string(),
                ));
                self.bufs[depth] = buf;
                None
            }
        }
    }

    fn decode(&mut self, node: u32, tree: ObjectId, prefix: &str, depth: u16) {
        let Some(data) = self.read(tree, depth as usize, prefix) else {
            return;
        };
        let mut path = std::mem::take(&mut self.scratch);
        path.clear();
        path.push_str(prefix);
        if !prefix.is_empty() {
            path.push('/');
        }
        let base = path.len();
        for entry in gix::objs::TreeRefIter::from_bytes(&data, self.repo.object_hash()) {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    self.errors.push((
                        format!("tree {tree} ({})", display_dir(prefix)),
                        err.to_string(),
                    ));
                    break;
                }
            };
            path.truncate(base);
            match std::str::from_utf8(entry.filename) {
                Ok(n) => path.push_str(n),
                Err(_) => path.push_str(&String::from_utf8_lossy(entry.filename)),
            }
            let oid = entry.oid.to_owned();
            if entry.mode.is_tree() {
                let p = self.paths.intern(&path);
                let (child, new) = self.node(oid, p, depth + 1, u32::MAX);
                self.children[node as usize].push(child);
                if new {
                    let child_prefix = self.paths.list[p as usize].clone();
                    self.decode(child, oid, &child_prefix, depth + 1);
                }
            } else if entry.mode.is_blob() {
                if self.excluded.contains(&oid) {
                    continue;
                }
                let p = self.paths.intern(&path);
                let next = self.blob_ids.len() as u32;
                let bi = *self.blob_index.entry(oid).or_insert(next);
                if bi == next {
                    self.blob_ids.push(oid);
                }
                self.records.push((bi, p, node));
            } else if entry.mode.is_commit() {
                self.submodules += 1;
            }
        }
        self.scratch = path;
        self.bufs[depth as usize] = data;
    }

    /// Mark every blob under `tree` as excluded (the base side of a range).
    fn exclude(&mut self, tree: ObjectId, seen: &mut HashSet<ObjectId>) {
        if !seen.insert(tree) {
            return;
        }
        let mut buf = Vec::new();
        let Ok(iter) = self.repo.objects.find_tree_iter(&tree, &mut buf) else {
            return;
        };
        let entries: Vec<(bool, ObjectId)> = iter
            .filter_map(Result::ok)
            .filter(|e| e.mode.is_tree() || e.mode.is_blob())
            .map(|e| (e.mode.is_tree(), e.oid.to_owned()))
            .collect();
        for (is_tree, oid) in entries {
            if is_tree {
                self.exclude(oid, seen);
            } else {
                self.excluded.insert(oid);
            }
        }
    }

    /// Propagate oldest positions down the node DAG and build the blob list with each
    /// (blob, path)'s introducing commit (`order[pos]`), oldest appearance first.
    fn finish(mut self, order: &[u32]) -> WalkResult {
        let mut by_depth: Vec<u32> = (0..self.node_depth.len() as u32).collect();
        by_depth.sort_by_key(|&n| self.node_depth[n as usize]);
        for &n in &by_depth {
            let o = self.node_oldest[n as usize];
            for i in 0..self.children[n as usize].len() {
                let c = self.children[n as usize][i] as usize;
                self.node_oldest[c] = self.node_oldest[c].min(o);
            }
        }
        let mut best: HashMap<(u32, u32), u32> = HashMap::new();
        for &(b, p, n) in &self.records {
            let o = self.node_oldest[n as usize];
            best.entry((b, p))
                .and_modify(|v| *v = (*v).min(o))
                .or_insert(o);
        }
        let mut blobs: Vec<HistoryBlob> = self
            .blob_ids
            .iter()
            .enumerate()
            .map(|(i, &id)| HistoryBlob {
                id,
                seen: Vec::new(),
                walk_index: i as u32,
            })
            .collect();
        let mut pairs: Vec<((u32, u32), u32)> = best.into_iter().collect();
        pairs.sort_unstable_by_key(|&((b, p), pos)| (b, pos, p));
        for ((b, p), pos) in pairs {
            if let Some(&commit) = order.get(pos as usize) {
                blobs[b as usize].seen.push(Appearance { path: p, commit });
            }
        }
        blobs.retain(|b| !b.seen.is_empty());
        let graph = WalkGraph {
            root_node: self.root_node,
            children: self.children,
            depth: self.node_depth,
            records: self.records,
        };
        (blobs, self.paths.list, self.errors, self.submodules, graph)
    }
}

fn display_dir(prefix: &str) -> &str {
    if prefix.is_empty() { "/" } else { prefix }
}

/// Enumerate commits and unique blobs for `scope`.
pub fn enumerate(r: &Repo, scope: &Scope) -> Result<History, Error> {
    let repo = r.local();
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
            let mut tips = ref_tips(&repo, &scope.refs)?;
            if scope.unreachable {
                // Every commit object becomes a tip; those the refs already reach keep
                // their ref names, the rest are reported as unreachable.
                if let Ok(all) = repo.objects.iter() {
                    for id in all.filter_map(Result::ok) {
                        if repo
                            .find_header(id)
                            .is_ok_and(|h| h.kind() == gix::objs::Kind::Commit)
                        {
                            tips.push((UNREACHABLE_REF.to_string(), id));
                        }
                    }
                }
            }
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
    // Masks propagate from children to parents, so an unreachable-tip bit must not
    // mark commits a real ref reaches: those tips are applied only where no ref bit lands.
    for (name, id) in tips.iter().filter(|(n, _)| n != UNREACHABLE_REF) {
        if let Some(&ci) = index.get(id) {
            let bit = if let Some(b) = ref_names.iter().position(|n| n == name) {
                b
            } else if ref_names.len() < 63 {
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
    if scope.unreachable && masks.contains(&0) {
        let bit = if ref_names.len() < 63 {
            ref_names.push(UNREACHABLE_REF.to_string());
            ref_names.len() - 1
        } else {
            63
        };
        masks
            .iter_mut()
            .filter(|m| **m == 0)
            .for_each(|m| *m = 1 << bit);
    }
    let mut tw = TreeWalk::new(&repo);
    // Range: blobs already in the base side's trees are not new.
    if !hidden.is_empty() {
        let mut boundary: HashSet<ObjectId> = HashSet::new();
        let mut buf = Vec::new();
        for c in &commits {
            if let Ok(iter) = repo.objects.find_commit_iter(&c.id, &mut buf) {
                boundary.extend(iter.parent_ids().filter(|p| hidden.contains(p)));
            }
        }
        let mut seen = HashSet::new();
        for b in boundary {
            if let Ok(mut iter) = repo.objects.find_commit_iter(&b, &mut buf) {
                if let Ok(t) = iter.tree_id() {
                    tw.exclude(t, &mut seen);
                }
            }
        }
    }
    for (pos, &ci) in order.iter().enumerate().rev() {
        tw.visit_root(ci, commits[ci as usize].tree, pos as u32);
    }
    let (blobs, paths, tree_errors, submodules, mut graph) = tw.finish(&order);
    graph.root_node.resize(commits.len(), u32::MAX);
    if submodules > 0 {
        notes.push(format!(
            "{submodules} submodule entr(ies) in history not recursed into"
        ));
    }
    if r.shallow {
        notes.push("shallow clone: only the fetched part of history was scanned".into());
    }
    errors.extend(tree_errors);
    Ok(History {
        commits,
        blobs,
        paths,
        ref_names,
        ref_masks: masks,
        errors,
        notes,
        graph,
    })
}

/// For each (blob, path, introducing commit), the first commit after it in which the
/// blob is no longer at that path (deleted or changed), from the walk's node graph:
/// no object is read. Cost per entry is linear in the number of tree nodes, so at
/// most `limit` entries are resolved (the rest get `None`).
pub fn removals(hist: &History, wanted: &[(u32, u32, u32)], limit: usize) -> Vec<Option<ObjectId>> {
    let g = &hist.graph;
    let total = wanted.len();
    let wanted = &wanted[..total.min(limit)];
    let mut holders: HashMap<(u32, u32), Vec<u32>> = wanted
        .iter()
        .map(|&(b, p, _)| ((b, p), Vec::new()))
        .collect();
    for &(b, p, n) in &g.records {
        if let Some(v) = holders.get_mut(&(b, p)) {
            v.push(n);
        }
    }
    // Parent links, so each lookup only visits the ancestors of the nodes holding it.
    let mut parents: Vec<Vec<u32>> = vec![Vec::new(); g.depth.len()];
    for (n, cs) in g.children.iter().enumerate() {
        for &c in cs {
            parents[c as usize].push(n as u32);
        }
    }
    let commit_children = children(hist);
    let pos = {
        let mut pos = vec![0u32; hist.commits.len()];
        for (i, c) in parents_first(&hist.commits).into_iter().enumerate() {
            pos[c as usize] = i as u32;
        }
        pos
    };
    // reach[n] == stamp: node n holds the current (blob, path), directly or below it.
    let mut reach = vec![u32::MAX; g.depth.len()];
    let mut out: Vec<Option<ObjectId>> = wanted
        .iter()
        .enumerate()
        .map(|(stamp, &(b, p, intro))| {
            let stamp = stamp as u32;
            let mut stack: Vec<u32> = holders[&(b, p)].clone();
            while let Some(n) = stack.pop() {
                if reach[n as usize] != stamp {
                    reach[n as usize] = stamp;
                    stack.extend(
                        parents[n as usize]
                            .iter()
                            .copied()
                            .filter(|&q| reach[q as usize] != stamp),
                    );
                }
            }
            let has = |c: u32| {
                g.root_node
                    .get(c as usize)
                    .is_some_and(|&r| r != u32::MAX && reach[r as usize] == stamp)
            };
            let mut visited: HashSet<u32> = HashSet::from([intro]);
            let mut stack = vec![intro];
            let mut best: Option<u32> = None;
            while let Some(c) = stack.pop() {
                for &child in &commit_children[c as usize] {
                    if !visited.insert(child) {
                        continue;
                    }
                    if has(child) {
                        stack.push(child);
                    } else if best.is_none_or(|x| pos[child as usize] < pos[x as usize]) {
                        best = Some(child);
                    }
                }
            }
            best.map(|x| hist.commits[x as usize].id)
        })
        .collect();
    out.resize(total, None);
    out
}

/// Child lists of the walked commit graph (for walking forward in time).
pub fn children(hist: &History) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); hist.commits.len()];
    for (i, c) in hist.commits.iter().enumerate() {
        for &p in &c.parents {
            out[p as usize].push(i as u32);
        }
    }
    out
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

/// The index's regular files (stage 0), relative to the work tree, each with its
/// blob id when the file on disk is unchanged (stat matches the index entry and the
/// entry is not racily clean), as `git status` decides it without reading content.
pub fn tracked_files(r: &Repo, root: &Path) -> Vec<(String, Option<ObjectId>)> {
    let repo = r.repo.to_thread_local();
    let Ok(index) = repo.open_index() else {
        return Vec::new();
    };
    // Nanosecond timestamps: git writes the index after the files it checks out, so
    // on a fresh clone every file is older than the index to the nanosecond and is not
    // racy, while a file changed after the index was written is still caught.
    let opts = gix::index::entry::stat::Options {
        use_nsec: true,
        ..Default::default()
    };
    let stamp = index.timestamp();
    index
        .entries()
        .iter()
        .filter(|e| {
            e.stage_raw() == 0
                && !e.mode.is_submodule()
                && !e.mode.contains(gix::index::entry::Mode::SYMLINK)
        })
        .map(|e| {
            let path = e.path(&index).to_string();
            let clean = gix::index::fs::Metadata::from_path_no_follow(&root.join(&path))
                .ok()
                .and_then(|m| gix::index::entry::Stat::from_fs(&m).ok())
                .is_some_and(|st| e.stat.matches(&st, opts) && !e.stat.is_racy(stamp, opts));
            (path, clean.then_some(e.id))
        })
        .collect()
}

/// Paths of the submodules (gitlinks) recorded in the index.
pub fn submodule_paths(r: &Repo) -> Vec<String> {
    let repo = r.repo.to_thread_local();
    let Ok(index) = repo.open_index() else {
        return Vec::new();
    };
    index
        .entries()
        .iter()
        .filter(|e| e.mode.is_submodule())
        .map(|e| e.path(&index).to_string())
        .collect()
}

/// Staged blobs: index entries whose blob differs from HEAD's tree at that path.
/// Under `git commit -a` or `git commit PATH` git stages into a temporary index and
/// names it in `GIT_INDEX_FILE` (relative to the current directory) for the hooks.
pub fn staged_blobs(r: &Repo) -> Result<Vec<(String, ObjectId)>, Error> {
    let repo = r.repo.to_thread_local();
    let index = match std::env::var_os("GIT_INDEX_FILE").filter(|p| !p.is_empty()) {
        Some(p) => gix::index::File::at(p, repo.object_hash(), false, Default::default())
            .map_err(|e| e.to_string()),
        None => repo.open_index().map_err(|e| e.to_string()),
    }
    .map_err(|message| Error::Index { message })?;
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

/// Visit blobs stored in the repository's packs in pack order: gix's delta-tree
/// traversal inflates each delta base once and spreads the work over `threads`
/// threads. `visit(state, blob_id, bytes)` runs on a per-thread clone of `state` for
/// every blob (or only those in `wanted`). A blob stored in several packs is visited
/// once per pack. Returns the packs that failed (their blobs are the caller's to read).
pub fn for_each_packed_blob<S, V>(
    r: &Repo,
    wanted: Option<&HashMap<ObjectId, u32>>,
    threads: Option<usize>,
    state: S,
    visit: V,
) -> Vec<(String, String)>
where
    S: Clone + Send,
    V: Fn(&mut S, &ObjectId, &[u8]) + Sync,
{
    use std::sync::atomic::AtomicBool;
    let mut errors = Vec::new();
    let repo = r.repo.to_thread_local();
    let pack_dir = repo.common_dir().join("objects").join("pack");
    let mut idx_files: Vec<std::path::PathBuf> = std::fs::read_dir(&pack_dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                .collect()
        })
        .unwrap_or_default();
    idx_files.sort();
    let interrupt = AtomicBool::new(false);
    for idx in idx_files {
        let bundle = match gix::odb::pack::Bundle::at(&idx, repo.object_hash()) {
            Ok(b) => b,
            Err(e) => {
                errors.push((idx.display().to_string(), e.to_string()));
                continue;
            }
        };
        if let Some(w) = wanted {
            // Skip packs holding none of the wanted blobs (e.g. only trees and commits).
            if !bundle.index.iter().any(|e| w.contains_key(&e.oid)) {
                continue;
            }
        }
        let visit = &visit;
        let mut st = state.clone();
        let processor = move |kind: gix::objs::Kind,
                              data: &[u8],
                              entry: &gix::odb::pack::index::Entry,
                              _: &dyn gix::progress::Progress| {
            if kind == gix::objs::Kind::Blob && wanted.is_none_or(|w| w.contains_key(&entry.oid)) {
                visit(&mut st, &entry.oid, data);
            }
            Ok(())
        };
        let opts = gix::odb::pack::index::traverse::with_index::Options {
            thread_limit: threads,
            check: gix::odb::pack::index::traverse::SafetyCheck::SkipFileAndObjectChecksumVerificationAndNoAbortOnDecodeError,
            alloc_limit_bytes: None,
        };
        if let Err(e) = bundle.index.traverse_with_index(
            &bundle.pack,
            processor,
            &mut gix::progress::Discard,
            &interrupt,
            opts,
        ) {
            errors.push((idx.display().to_string(), e.to_string()));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}

//! Working-tree walk with `ignore`: honours .gitignore unless told not to,
//! skips `.git/`, never follows symlinks (so no loops and no escape from the tree).

use std::path::{Path, PathBuf};

use super::Error;

/// A regular file found by the walk.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Path to open.
    pub abs: PathBuf,
    /// Path relative to the scan root, `/`-separated (what reports show).
    pub rel: String,
}

/// Walk options.
#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    /// Honour .gitignore/.ignore files.
    pub respect_ignore: bool,
    /// Do not descend into nested git repositories (when the root is a repository:
    /// submodules and inner clones have their own history).
    pub skip_nested_repos: bool,
}

/// What the walk yields per entry.
pub enum WalkItem {
    /// A regular file to scan.
    File(FileEntry),
    /// A symbolic link, skipped.
    Symlink(String),
    /// An error for one path; the walk goes on.
    Error(Error),
    /// A nested git repository (a submodule checkout or a clone inside the tree):
    /// it has its own history and is not walked as part of this tree.
    NestedRepo(String),
}

/// Relative, `/`-separated path of `p` under `root`.
pub fn rel_path(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// Walk `root` (a directory or a single file) sequentially; the caller scans in parallel.
pub fn walk(root: &Path, opts: WalkOptions) -> impl Iterator<Item = WalkItem> + use<> {
    let root_buf = root.to_path_buf();
    let single_file = root.is_file();
    let nested: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let nested_in = nested.clone();
    let root_for_filter = root.to_path_buf();
    let mut b = ignore::WalkBuilder::new(root);
    b.standard_filters(opts.respect_ignore)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            if e.depth() > 0
                && e.file_type().is_some_and(|t| t.is_dir())
                && e.path().join(".git").exists()
            {
                nested_in
                    .lock()
                    .expect("nested-repo list lock")
                    .push(rel_path(&root_for_filter, e.path()));
                return false;
            }
            true
        });
    let mut tail = None;
    let nested_items = std::iter::from_fn(move || {
        let list = tail.get_or_insert_with(|| {
            std::mem::take(&mut *nested.lock().expect("nested-repo list lock"))
        });
        list.pop().map(WalkItem::NestedRepo)
    });
    b.build()
        .filter_map(move |r| match r {
            Ok(e) => {
                let ft = e.file_type()?;
                let rel = if single_file {
                    e.path()
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                } else {
                    rel_path(&root_buf, e.path())
                };
                if ft.is_symlink() {
                    Some(WalkItem::Symlink(rel))
                } else if ft.is_file() {
                    Some(WalkItem::File(FileEntry {
                        abs: e.into_path(),
                        rel,
                    }))
                } else {
                    None
                }
            }
            Err(err) => {
                let path = match &err {
                    ignore::Error::WithPath { path, .. } => path.clone(),
                    _ => root_buf.clone(),
                };
                let message = err.to_string();
                let message = message
                    .rsplit_once(": ")
                    .map_or(message.as_str(), |(_, m)| m)
                    .to_string();
                Some(WalkItem::Error(Error::Walk { path, message }))
            }
        })
        .chain(nested_items)
}

//! preflight: find secrets in a repository's files and history, and vulnerable
//! dependencies in its lockfiles, before it goes public.
//!
//! The library exists for the binary, tests and benches; it is not a stable API.
//!
//! Pipeline: `source` (worktree walk, git history, index) → `blob` (bytes under
//! the size policy) → `scan` (prefilter + regexes → [`scan::Match`]) →
//! `finding` (grouped [`finding::Finding`]s) → `suppress` → `report`.
//!
//! Glossary (one word per concept):
//! - **rule**: one pattern from `patterns/*.toml` (or a user rule file), id `provider.kind`.
//! - **match**: one rule hit in one blob, as byte offsets.
//! - **finding**: the reported unit: one rule + one secret, with every location it was seen.
//! - **location**: one path (and position) where a finding's secret was seen, with its provenance.
//! - **provenance**: where a blob was seen: working-tree file, staged index entry, or a commit.
//! - **fingerprint**: a stable hash: per finding (rule + secret) and per location (rule + path + secret).
//! - **suppression**: why a finding is not counted (inline comment, ignore file, baseline, allowed path).
//! - **lockfile**: a file pinning dependency versions (`Cargo.lock`, `poetry.lock`, `package-lock.json`, ...).
//! - **package**: one pinned name + version in one lockfile, with its line.
//! - **advisory**: a published vulnerability or warning about package versions (RUSTSEC, PYSEC, GHSA, ...);
//!   a package version it affects becomes a finding whose rule id is the advisory id.
//! - **advisory database**: a local directory of advisories (RustSec, PyPA, any OSV export).
#![warn(missing_docs)]

pub mod app;
pub mod audit;
pub mod blob;
pub mod ci;
pub mod cli;
pub mod config;
pub mod exit;
pub mod finding;
pub mod hook;
pub mod progress;
pub mod report;
pub mod rules;
pub mod sanitize;
pub mod scan;
pub mod source;
pub mod suppress;

//! preflight's integration tests: one binary (one link on our 2 cores) that runs
//! the real `preflight` executable in temp dirs and generated git repositories.
//! Set `PREFLIGHT_TEST_BIN` to run the suite against another build.

mod deps;
mod history;
mod placeholders;
mod reports;
mod robustness;
mod suppression;
mod util;
mod workflows;
mod worktree;

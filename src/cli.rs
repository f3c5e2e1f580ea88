//! Command-line interface (clap derive structs only; no logic).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::finding::Severity;
use crate::report::Format;

/// Find secrets (in files and the whole git history) before a repository goes public.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, about, long_about = None, after_help = "Examples:\n  preflight scan .                      working tree + full git history\n  preflight scan . --staged             pre-commit: staged changes only\n  preflight scan . --format sarif --output preflight.sarif\n  preflight rules list")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a directory (and its git history) for secrets.
    Scan(ScanArgs),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Audit lockfiles against local advisory databases (no network).
    Deps(DepsArgs),
    /// Secrets and dependencies in one report (`scan` + `deps`).
    Check(CheckArgs),
    /// Fetch or inspect the advisory databases.
    #[command(subcommand)]
    Db(DbCommand),
    /// Write the current findings' fingerprints (no secrets) to a baseline file, so
    /// later scans with `--baseline FILE` fail only on new findings.
    Baseline(BaselineArgs),
    /// Install git hooks that run preflight (pre-commit; pre-push with --pre-push).
    #[command(subcommand)]
    Hook(HookCommand),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write a commented .preflight.toml in the current directory.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// `preflight hook ...`.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write .git/hooks/pre-commit (and pre-push with --pre-push).
    #[command(
        after_help = "Examples:\n  preflight hook install\n  preflight hook install --pre-push --force"
    )]
    Install {
        /// Also install a pre-push hook that scans the commits being pushed.
        #[arg(long)]
        pre_push: bool,
        /// Replace hooks preflight did not write (the old one is kept as *.preflight-backup).
        #[arg(long)]
        force: bool,
    },
}

/// `preflight baseline`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  preflight baseline . -o preflight-baseline.json\n  preflight scan . --baseline preflight-baseline.json"
)]
pub struct BaselineArgs {
    /// Scan options (as for `preflight scan`).
    #[command(flatten)]
    pub scan: ScanArgs,
}

/// `preflight rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules (builtin plus .preflight.toml's).
    List {
        /// Output format (text or json).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Check rule files: ids, regexes, keywords and every example.
    Check {
        /// Rule files (TOML, same format as preflight's patterns/).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `preflight scan`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 no unsuppressed finding; 1 findings at or above --fail-on; 2 usage or fatal error, or an incomplete scan.\n\nExamples:\n  preflight scan .\n  preflight scan . --no-history --format json\n  preflight scan . --range origin/main..HEAD\n  preflight scan . --baseline preflight-baseline.json"
)]
pub struct ScanArgs {
    /// Directory or file to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show secrets in clear text (text and JSON only; SARIF never carries them).
    #[arg(long)]
    pub show_secrets: bool,
    /// Scan files that .gitignore would skip.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files and blobs larger than this many bytes (suffixes K, M, G allowed).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
    /// Suppress findings present in this earlier JSON report.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Configuration file (default: PATH/.preflight.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value = "info", value_name = "SEVERITY")]
    pub fail_on: Severity,
    /// Scan the working tree only, not the git history.
    #[arg(long, conflicts_with_all = ["history_only", "staged"])]
    pub no_history: bool,
    /// Scan the git history only, not the working tree.
    #[arg(long)]
    pub history_only: bool,
    /// Scan only blobs staged in the index that differ from HEAD (pre-commit).
    #[arg(long, conflicts_with_all = ["history_only", "range", "since"])]
    pub staged: bool,
    /// Scan only blobs introduced by commits in BASE..HEAD; `auto` reads the range
    /// from GitHub Actions or GitLab CI variables.
    #[arg(long, value_name = "BASE..HEAD", conflicts_with = "since")]
    pub range: Option<String>,
    /// Scan only blobs introduced by commits after REV (same as --range REV..HEAD).
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
    /// Limit history to these refs (repeatable; default: every ref).
    #[arg(long, value_name = "REF")]
    pub branch: Vec<String>,
    /// Also scan commits no ref reaches (dangling after resets and rewrites) and
    /// blobs no commit holds.
    #[arg(long)]
    pub unreachable: bool,
    /// Also scan checked-out submodules (working tree and their own history).
    #[arg(long)]
    pub recurse_submodules: bool,
    /// No progress bar and no notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Never colour the text report.
    #[arg(long)]
    pub no_color: bool,
}

/// Advisory database options shared by `deps` and `check`.
#[derive(Debug, Args, Clone, Default)]
pub struct DbArgs {
    /// Advisory database directory: RustSec, PyPA or any OSV export (repeatable;
    /// default: the databases `preflight db update` keeps in the user cache dir).
    #[arg(long = "db", value_name = "DIR")]
    pub dbs: Vec<PathBuf>,
    /// Warn when a database's last commit is older than DAYS (default 90).
    #[arg(long, value_name = "DAYS")]
    pub max_db_age: Option<u64>,
    /// Let informational advisories (unmaintained, unsound crates) fail the run,
    /// whatever --fail-on says; by default they are warnings that do not change
    /// the exit code.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// `preflight deps`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 no unsuppressed finding; 1 findings at or above --fail-on, or any informational advisory with --deny-warnings; 2 usage or fatal error, or an incomplete audit.\n\nExamples:\n  preflight db update && preflight deps .\n  preflight deps . --db ./advisory-db --format sarif --output deps.sarif\n  preflight deps Cargo.lock --fail-on high"
)]
pub struct DepsArgs {
    /// Directory to search for lockfiles, or one lockfile.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Databases.
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value = "info", value_name = "SEVERITY")]
    pub fail_on: Severity,
    /// Configuration file (default: PATH/.preflight.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also look at lockfiles that .gitignore would skip.
    #[arg(long)]
    pub no_ignore: bool,
    /// No notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Never colour the text report.
    #[arg(long)]
    pub no_color: bool,
}

/// `preflight check`: `scan` and `deps` into one report.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Secret scan options.
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Databases.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `preflight db ...`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Clone or fast-forward the advisory git repositories (RustSec and PyPA by default).
    Update(DbUpdateArgs),
    /// Show each database's layout, commit, date and age.
    Status(DbStatusArgs),
}

/// `preflight db update`.
#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    /// Where the databases live (default: `$PREFLIGHT_DB_DIR`, else `<cache dir>/preflight/advisory-db`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Repository to fetch as NAME=URL (repeatable; replaces the defaults and `[deps.sources]`).
    #[arg(long = "source", value_name = "NAME=URL")]
    pub sources: Vec<String>,
    /// Configuration file with `[deps.sources]` (default: ./.preflight.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `preflight db status`.
#[derive(Debug, Args)]
pub struct DbStatusArgs {
    /// Databases.
    #[command(flatten)]
    pub db: DbArgs,
    /// Where `db update` keeps the databases (default: as for `db update`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Output format (text or json).
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: Format,
}

/// Parse `25M`, `1G`, `4096`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (s, 1u64),
        Some((i, _)) => {
            let mult = match s[i..]
                .to_ascii_lowercase()
                .trim_end_matches("ib")
                .trim_end_matches('b')
            {
                "" => 1,
                "k" => 1 << 10,
                "m" => 1 << 20,
                "g" => 1 << 30,
                other => return Err(format!("unknown size suffix {other:?} (use K, M or G)")),
            };
            (&s[..i], mult)
        }
    };
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a size"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("25M"), Ok(25 << 20));
        assert_eq!(super::parse_size("4096"), Ok(4096));
        assert_eq!(super::parse_size("1GiB"), Ok(1 << 30));
        assert!(super::parse_size("1X").is_err());
    }
}

//! The rule set: rule files parsed, regexes compiled, prefilter built.
//!
//! Loading happens once per run; the compiled [`RuleSet`] is shared by
//! reference between scanner threads. This module never scans blobs.

pub mod check;
pub mod syntax;

use std::path::{Path, PathBuf};

use regex::bytes::{Regex, RegexBuilder};

pub use syntax::{Example, Filter, Precision, RuleSpec};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_patterns.rs"));
}

/// Builtin rule files embedded at build time: `(file name, contents)`.
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    builtin::BUILTIN
}

/// Size limit for one compiled regex; rules over it are rejected.
pub const REGEX_SIZE_LIMIT: usize = 4 << 20;

/// Errors while loading or compiling rules.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule file could not be read.
    #[error("cannot read rule file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A rule file is not valid TOML for our schema.
    #[error("{origin}: {message}")]
    Syntax {
        /// File name.
        origin: String,
        /// toml's message, with line and column.
        message: String,
    },
    /// A rule regex does not compile.
    #[error("{origin}: rule {id}: {what} does not compile: {message}")]
    Regex {
        /// File name.
        origin: String,
        /// Rule id.
        id: String,
        /// Which regex (`pattern`, `path`, `allow[0]`).
        what: String,
        /// The regex crate's message.
        message: String,
    },
    /// A rule is malformed in another way.
    #[error("{origin}: rule {id}: {message}")]
    Invalid {
        /// File name.
        origin: String,
        /// Rule id.
        id: String,
        /// What is wrong.
        message: String,
    },
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// The spec as written.
    pub spec: RuleSpec,
    /// File the rule came from.
    pub origin: String,
    /// Content regex, compiled on first use (builtins) or up front (user rules).
    pattern: Option<LazyPattern>,
    /// Compiled path regex, if any.
    pub path: Option<Regex>,
    /// Compiled allow regexes.
    pub allow: Vec<Regex>,
    /// Capture group of the secret.
    pub secret_group: usize,
}

/// A compiled content pattern.
#[derive(Debug)]
pub struct Compiled {
    /// The regex.
    pub regex: Regex,
    /// Index of the `key` named group, if the pattern has one.
    pub key_group: Option<usize>,
    /// Longest possible match in bytes, when the pattern bounds it (then the scanner
    /// searches only windows around keyword hits instead of the whole blob).
    pub max_len: Option<usize>,
}

/// Patterns whose matches can be longer than this are searched over whole blobs.
pub const MAX_WINDOWED_MATCH: usize = 4096;

/// The longest match `pattern` can produce, if bounded (parsed with our regex options).
pub fn max_match_len(pattern: &str) -> Option<usize> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .multi_line(true)
        .crlf(true)
        .build()
        .parse(pattern)
        .ok()?;
    hir.properties()
        .maximum_len()
        .filter(|&n| n <= MAX_WINDOWED_MATCH)
}

/// A content pattern compiled on first use: a scan of one small file (the
/// pre-commit case) compiles only the rules its keywords select.
#[derive(Debug)]
struct LazyPattern {
    source: String,
    cell: std::sync::OnceLock<Option<Compiled>>,
}

impl LazyPattern {
    fn get(&self) -> Option<&Compiled> {
        self.cell
            .get_or_init(|| {
                build_regex(&self.source).ok().map(|regex| Compiled {
                    key_group: regex.capture_names().position(|n| n == Some("key")),
                    max_len: max_match_len(&self.source),
                    regex,
                })
            })
            .as_ref()
    }
}

/// Origin prefix of builtin rule files (compiled lazily: they are tested).
pub const BUILTIN_ORIGIN: &str = "builtin:";

impl Rule {
    /// Whether the rule has a content pattern (otherwise it is a file rule).
    pub fn has_pattern(&self) -> bool {
        self.pattern.is_some()
    }
    /// The compiled content pattern (compiling it on first use).
    pub fn compiled(&self) -> Option<&Compiled> {
        self.pattern.as_ref().and_then(LazyPattern::get)
    }
    /// Whether a filter is enabled.
    pub fn has_filter(&self, f: Filter) -> bool {
        self.spec.filters.contains(&f)
    }
}

fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .multi_line(true)
        .crlf(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(8 << 20)
        .build()
}

impl Rule {
    /// Compile one spec, checking everything up front.
    pub fn compile(spec: RuleSpec, origin: &str) -> Result<Rule, Error> {
        Self::build(spec, origin, false)
    }

    /// Compile one spec whose content pattern is known to be valid: it is built on first use.
    pub fn compile_lazy(spec: RuleSpec, origin: &str) -> Result<Rule, Error> {
        Self::build(spec, origin, true)
    }

    fn build(spec: RuleSpec, origin: &str, lazy: bool) -> Result<Rule, Error> {
        let err = |what: &str, e: regex::Error| Error::Regex {
            origin: origin.to_string(),
            id: spec.id.clone(),
            what: what.to_string(),
            message: e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        let regex = match &spec.pattern {
            Some(p) if !lazy => Some(build_regex(p).map_err(|e| err("pattern", e))?),
            _ => None,
        };
        let path = match &spec.path {
            Some(p) => Some(build_regex(p).map_err(|e| err("path", e))?),
            None => None,
        };
        if spec.pattern.is_none() && path.is_none() {
            return Err(Error::Invalid {
                origin: origin.to_string(),
                id: spec.id.clone(),
                message: "needs a `pattern` or a `path`".into(),
            });
        }
        let mut allow = Vec::new();
        for (i, a) in spec.allow.iter().enumerate() {
            allow.push(build_regex(a).map_err(|e| err(&format!("allow[{i}]"), e))?);
        }
        let secret_group = spec.secret_group.unwrap_or(1);
        let mut key_group = None;
        if let Some(re) = &regex {
            if secret_group >= re.captures_len() {
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    id: spec.id.clone(),
                    message: format!(
                        "secret_group {secret_group} but the pattern has {} group(s)",
                        re.captures_len() - 1
                    ),
                });
            }
            key_group = re.capture_names().position(|n| n == Some("key"));
            if re.is_match(b"") {
                return Err(Error::Invalid {
                    origin: origin.to_string(),
                    id: spec.id.clone(),
                    message: "pattern matches the empty string".into(),
                });
            }
        }
        if !lazy && spec.has_keyname_filter() && key_group.is_none() {
            return Err(Error::Invalid {
                origin: origin.to_string(),
                id: spec.id.clone(),
                message: "filter `keyname` needs a `(?P<key>...)` group".into(),
            });
        }
        let pattern = spec.pattern.clone().map(|source| {
            let cell = std::sync::OnceLock::new();
            if let Some(regex) = regex {
                let max_len = max_match_len(&source);
                let _ = cell.set(Some(Compiled {
                    regex,
                    key_group,
                    max_len,
                }));
            }
            LazyPattern { source, cell }
        });
        Ok(Rule {
            spec,
            origin: origin.to_string(),
            pattern,
            path,
            allow,
            secret_group,
        })
    }
}

impl RuleSpec {
    fn has_keyname_filter(&self) -> bool {
        self.filters.contains(&Filter::Keyname)
    }
}

/// Parse one rule file's text.
pub fn parse_rule_file(origin: &str, text: &str) -> Result<Vec<RuleSpec>, Error> {
    toml::from_str::<syntax::RuleFile>(text)
        .map(|f| f.rule)
        .map_err(|e| Error::Syntax {
            origin: origin.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
}

/// Read and parse a rule file from disk.
pub fn load_rule_file(path: &Path) -> Result<Vec<RuleSpec>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_rule_file(&path.display().to_string(), &text)
}

/// Compiled rules plus the keyword prefilter.
#[derive(Debug)]
pub struct RuleSet {
    /// Rules, sorted by id.
    pub rules: Vec<Rule>,
    /// Keyword automaton mapping blobs to candidate rules.
    pub prefilter: crate::scan::prefilter::Prefilter,
    /// One set of every rule's `path` regex, so a path is tested once, not per rule.
    path_set: regex::bytes::RegexSet,
    /// Rule index of each `path_set` entry.
    path_rules: Vec<u32>,
}

impl RuleSet {
    /// Compile specs (each with its origin) into a rule set. Duplicate ids are an error.
    pub fn compile(specs: Vec<(String, RuleSpec)>) -> Result<RuleSet, Error> {
        let mut rules = Vec::with_capacity(specs.len());
        for (origin, spec) in specs {
            rules.push(if origin.starts_with(BUILTIN_ORIGIN) {
                Rule::compile_lazy(spec, &origin)?
            } else {
                Rule::compile(spec, &origin)?
            });
        }
        rules.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
        for w in rules.windows(2) {
            if w[0].spec.id == w[1].spec.id {
                return Err(Error::Invalid {
                    origin: w[1].origin.clone(),
                    id: w[1].spec.id.clone(),
                    message: format!("duplicate id (also in {})", w[0].origin),
                });
            }
        }
        let prefilter = crate::scan::prefilter::Prefilter::new(&rules);
        let path_rules: Vec<u32> = (0..rules.len() as u32)
            .filter(|&i| rules[i as usize].path.is_some())
            .collect();
        let path_set = regex::bytes::RegexSetBuilder::new(
            path_rules
                .iter()
                .filter_map(|&i| rules[i as usize].spec.path.as_deref()),
        )
        .unicode(false)
        .multi_line(true)
        .crlf(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .expect("path regexes compiled one by one above");
        Ok(RuleSet {
            rules,
            prefilter,
            path_set,
            path_rules,
        })
    }

    /// Indices of the rules whose `path` regex matches `path`.
    pub fn rules_for_path<'a>(&'a self, path: &str) -> impl Iterator<Item = u32> + 'a {
        self.path_set
            .matches(path.as_bytes())
            .into_iter()
            .map(|k| self.path_rules[k])
    }

    /// Does some path-restricted rule (a file rule or a content rule with a `path`)
    /// apply at `path`?
    pub fn any_path_rule(&self, path: &str) -> bool {
        self.path_set.is_match(path.as_bytes())
    }

    /// All builtin rule specs with their origin file.
    pub fn builtin_specs() -> Result<Vec<(String, RuleSpec)>, Error> {
        let mut out = Vec::new();
        for (name, text) in builtin_files() {
            for spec in parse_rule_file(name, text)? {
                out.push((format!("{BUILTIN_ORIGIN}{name}"), spec));
            }
        }
        Ok(out)
    }

    /// The builtin rules.
    pub fn builtin() -> Result<RuleSet, Error> {
        RuleSet::compile(Self::builtin_specs()?)
    }

    /// Find a rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules
            .binary_search_by(|r| r.spec.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.rules[i])
    }
}

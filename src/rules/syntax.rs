//! Serde mirror of the rule files in `patterns/*.toml`.
//!
//! This module only describes the on-disk shape; compiling and checking rules
//! happens in [`super`] and [`super::check`].

use serde::Deserialize;

/// One rule file: an array of `[[rule]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules in file order.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

/// One `[[rule]]` table as written by a person.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Permanent id, `provider.kind`.
    pub id: String,
    /// Human name.
    pub name: String,
    /// How bad a leak is.
    pub severity: crate::finding::Severity,
    /// How sure a match is a real secret.
    #[serde(default)]
    pub precision: Precision,
    /// What the credential grants.
    #[serde(default)]
    pub description: String,
    /// Content regex (bytes, `unicode(false)`, `multi_line(true)`, `crlf(true)`).
    pub pattern: Option<String>,
    /// Path regex: the rule applies only to blobs whose path matches. With no
    /// `pattern`, the rule reports the file itself.
    pub path: Option<String>,
    /// Capture group holding the secret (default 1).
    pub secret_group: Option<usize>,
    /// Lowercase literals for the prefilter.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub min_entropy: Option<f64>,
    /// Named engine filters.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Regexes that drop a secret they match (documented example values).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Where to revoke or rotate the credential.
    pub rotate: Option<String>,
    /// Documentation of the format.
    #[serde(default)]
    pub references: Vec<String>,
    /// Inputs that must yield exactly the given secret.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Inputs that must yield nothing.
    #[serde(default)]
    pub negative_examples: Vec<Negative>,
}

/// A positive example: an input and the one secret it must yield.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// Text scanned as a blob.
    pub input: String,
    /// The secret the rule must capture. For file rules, the path scanned.
    pub secret: String,
    /// Path the example is scanned under (default `example.txt`).
    pub path: Option<String>,
}

/// A negative example: text (scanned as `example.txt`), or text with a path.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Negative {
    /// Just the input.
    Text(String),
    /// Input under a given path.
    WithPath {
        /// Text scanned.
        input: String,
        /// Path it is scanned under.
        path: String,
    },
}

impl Negative {
    /// (input, path).
    pub fn parts(&self) -> (&str, &str) {
        match self {
            Negative::Text(t) => (t, DEFAULT_EXAMPLE_PATH),
            Negative::WithPath { input, path } => (input, path),
        }
    }
}

/// Path examples are scanned under unless they name one.
pub const DEFAULT_EXAMPLE_PATH: &str = "example.txt";

/// How sure a match is a real secret (SARIF `precision`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// Heuristic.
    Low,
    /// Needs context.
    #[default]
    Medium,
    /// Unique format.
    High,
    /// Verified format (checksum, structure).
    VeryHigh,
}

impl Precision {
    /// SARIF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Low => "low",
            Precision::Medium => "medium",
            Precision::High => "high",
            Precision::VeryHigh => "very-high",
        }
    }
}

/// Engine filters a rule can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// Drop placeholders, references and code instead of values.
    Placeholder,
    /// The `key` capture group must name a secret (`db_password`, not `password_length`).
    Keyname,
    /// The secret must be a JWT whose header decodes to JSON with `alg`.
    Jwt,
    /// File rule for env files: list keys with real-looking values.
    Dotenv,
}

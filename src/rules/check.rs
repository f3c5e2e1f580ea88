//! Rule self-test: ids, regexes, keywords and every example run through the
//! whole matcher, prefilter included. Used by `cargo test` on the builtins and
//! by `preflight rules check FILE` on users' rule files.

use super::{Rule, RuleSet, RuleSpec, syntax::DEFAULT_EXAMPLE_PATH};
use crate::finding::{Provenance, RawFinding, raw_findings};
use crate::scan::Scanner;

/// One problem found by the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File the rule came from.
    pub origin: String,
    /// Rule id.
    pub id: String,
    /// What is wrong (names the example index).
    pub message: String,
    /// Warnings do not fail the check.
    pub warning: bool,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.warning { "warning" } else { "error" };
        write!(
            f,
            "{kind}: {}: rule {}: {}",
            self.origin, self.id, self.message
        )
    }
}

/// Is `id` a well-formed rule id?
pub fn valid_id(id: &str) -> bool {
    if id.len() > 40 {
        return false;
    }
    let mut parts = id.split('.');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && !rest.is_empty()
        && rest.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn run_one(
    scanner: &mut Scanner<'_>,
    rule_index: usize,
    input: &str,
    path: &str,
) -> Vec<RawFinding> {
    let mut matches = Vec::new();
    scanner.scan_blob(path, input.as_bytes(), &mut matches);
    matches.retain(|m| m.rule as usize == rule_index);
    let mut raws = Vec::new();
    raw_findings(
        scanner.rules(),
        path,
        input.as_bytes(),
        &matches,
        &Provenance::File,
        true,
        &mut raws,
    );
    raws
}

/// Check specs; returns every problem (errors and warnings).
pub fn check(specs: Vec<(String, RuleSpec)>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut good = Vec::new();
    let mut seen = std::collections::BTreeMap::new();
    for (origin, spec) in specs {
        let p = |message: String, warning: bool| Problem {
            origin: origin.clone(),
            id: spec.id.clone(),
            message,
            warning,
        };
        let mut ok = true;
        if !valid_id(&spec.id) {
            problems.push(p(
                "id must match ^[a-z0-9]+(\\.[a-z0-9-]+)+$ and be at most 40 characters".into(),
                false,
            ));
            ok = false;
        }
        if let Some(prev) = seen.insert(spec.id.clone(), origin.clone()) {
            problems.push(p(format!("duplicate id (also in {prev})"), false));
            ok = false;
        }
        if spec.name.trim().is_empty() || spec.description.trim().is_empty() {
            problems.push(p("needs a name and a description".into(), false));
        }
        for k in &spec.keywords {
            if k.is_empty() || *k != k.to_ascii_lowercase() {
                problems.push(p(
                    format!("keyword {k:?} must be non-empty lowercase"),
                    false,
                ));
            }
        }
        if spec.pattern.is_some() && spec.keywords.is_empty() {
            problems.push(p(
                "no keywords: the regex runs on every blob (slow path)".into(),
                true,
            ));
        }
        if spec.examples.is_empty() {
            problems.push(p("needs at least one example".into(), false));
        }
        if spec.pattern.is_some() && spec.negative_examples.is_empty() {
            problems.push(p("needs at least one negative example".into(), false));
        }
        match Rule::compile(spec.clone(), &origin) {
            Ok(_) if ok => good.push((origin.clone(), spec)),
            Ok(_) => {}
            Err(e) => {
                let msg = e.to_string();
                let prefix = format!("{origin}: rule {}: ", spec.id);
                problems.push(p(
                    msg.strip_prefix(&prefix).unwrap_or(&msg).to_string(),
                    false,
                ));
            }
        }
    }
    let set = match RuleSet::compile(good) {
        Ok(s) => s,
        Err(e) => {
            problems.push(Problem {
                origin: String::new(),
                id: String::new(),
                message: e.to_string(),
                warning: false,
            });
            return problems;
        }
    };
    let mut scanner = Scanner::new(&set);
    for (ri, rule) in set.rules.iter().enumerate() {
        let p = |message: String| Problem {
            origin: rule.origin.clone(),
            id: rule.spec.id.clone(),
            message,
            warning: false,
        };
        for (i, ex) in rule.spec.examples.iter().enumerate() {
            let path = ex.path.as_deref().unwrap_or(DEFAULT_EXAMPLE_PATH);
            if rule.has_pattern() {
                let lower = ex.input.to_ascii_lowercase();
                if !rule.spec.keywords.is_empty()
                    && !rule
                        .spec
                        .keywords
                        .iter()
                        .any(|k| lower.contains(k.as_str()))
                {
                    problems.push(p(format!(
                        "examples[{i}] holds none of the keywords: the prefilter would skip it"
                    )));
                    continue;
                }
            }
            let raws = run_one(&mut scanner, ri, &ex.input, path);
            match raws.as_slice() {
                [one] if one.secret == ex.secret => {}
                [one] => problems.push(p(format!(
                    "examples[{i}] captured {:?}, expected {:?}",
                    one.secret, ex.secret
                ))),
                [] => problems.push(p(format!("examples[{i}] does not match"))),
                many => problems.push(p(format!(
                    "examples[{i}] matched {} times, expected once",
                    many.len()
                ))),
            }
        }
        for (i, neg) in rule.spec.negative_examples.iter().enumerate() {
            let (input, path) = neg.parts();
            let raws = run_one(&mut scanner, ri, input, path);
            if let Some(r) = raws.first() {
                problems.push(p(format!("negative_examples[{i}] matched {:?}", r.secret)));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("github.pat-classic"));
        assert!(valid_id("aws.access-key-id"));
        assert!(!valid_id("GitHub.pat"));
        assert!(!valid_id("github"));
        assert!(!valid_id("github..x"));
    }

    #[test]
    fn builtin_rules_pass_their_own_examples() {
        let specs = RuleSet::builtin_specs().expect("builtin rule files parse");
        let problems: Vec<String> = check(specs)
            .iter()
            .filter(|p| !p.warning)
            .map(|p| p.to_string())
            .collect();
        assert!(
            problems.is_empty(),
            "{} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }

    #[test]
    fn every_pattern_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("patterns");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = super::super::builtin_files()
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn builtin_rule_count() {
        let n = RuleSet::builtin()
            .expect("builtin rules compile")
            .rules
            .len();
        assert!(n >= 150, "only {n} builtin rules");
    }

    #[test]
    fn check_catches_a_keyword_the_example_lacks() {
        let spec: RuleSpec = toml::from_str(
            r#"id = "x.y"
name = "x"
description = "d"
severity = "high"
pattern = '''(abc[0-9]{4})'''
keywords = ["zzz"]
examples = [{ input = "abc1234", secret = "abc1234" }]
negative_examples = ["abc"]"#,
        )
        .unwrap();
        let probs = check(vec![("t.toml".into(), spec)]);
        assert!(
            probs
                .iter()
                .any(|p| p.message.contains("examples[0]") && p.message.contains("keywords")),
            "{probs:?}"
        );
    }
}

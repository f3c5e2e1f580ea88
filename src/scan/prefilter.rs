//! Keyword prefilter: one Aho-Corasick pass over a blob picks the rules whose
//! regexes may match it. It must never reject a blob a rule could match, which
//! `rules::check` verifies on every example.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::rules::Rule;

/// Maps keyword hits to candidate rule indices.
#[derive(Debug)]
pub struct Prefilter {
    automaton: Option<AhoCorasick>,
    /// For each keyword pattern id, the rules it enables.
    rules_of_keyword: Vec<Vec<u32>>,
    /// Content rules without keywords: they run on every blob (slow path).
    always: Vec<u32>,
    /// Total rule count (size of the candidate bitmap).
    rule_count: usize,
}

impl Prefilter {
    /// Build from compiled rules (indices refer to `rules`).
    pub fn new(rules: &[Rule]) -> Prefilter {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_of_keyword: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.regex.is_none() {
                continue;
            }
            if rule.spec.keywords.is_empty() {
                always.push(i as u32);
                continue;
            }
            for kw in &rule.spec.keywords {
                let kw = kw.to_ascii_lowercase();
                match keywords.iter().position(|k| *k == kw) {
                    Some(p) => rules_of_keyword[p].push(i as u32),
                    None => {
                        keywords.push(kw);
                        rules_of_keyword.push(vec![i as u32]);
                    }
                }
            }
        }
        let automaton = if keywords.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&keywords)
                    .expect("keyword automaton builds"),
            )
        };
        Prefilter {
            automaton,
            rules_of_keyword,
            always,
            rule_count: rules.len(),
        }
    }

    /// Number of distinct keywords.
    pub fn keyword_count(&self) -> usize {
        self.rules_of_keyword.len()
    }

    /// Write the candidate rule indices for `data` into `out` (sorted, unique).
    /// `seen` is caller-owned scratch, reused between blobs.
    pub fn candidates(&self, data: &[u8], seen: &mut Vec<bool>, out: &mut Vec<u32>) {
        out.clear();
        seen.clear();
        seen.resize(self.rule_count, false);
        for &r in &self.always {
            seen[r as usize] = true;
        }
        if let Some(ac) = &self.automaton {
            let mut kw_seen = vec![false; self.rules_of_keyword.len()];
            let mut remaining = kw_seen.len();
            for m in ac.find_overlapping_iter(data) {
                let k = m.pattern().as_usize();
                if !kw_seen[k] {
                    kw_seen[k] = true;
                    for &r in &self.rules_of_keyword[k] {
                        seen[r as usize] = true;
                    }
                    remaining -= 1;
                    if remaining == 0 {
                        break;
                    }
                }
            }
        }
        out.extend(
            seen.iter()
                .enumerate()
                .filter(|(_, s)| **s)
                .map(|(i, _)| i as u32),
        );
    }
}

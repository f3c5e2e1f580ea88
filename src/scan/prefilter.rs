//! Keyword prefilter: one Aho-Corasick pass over a blob picks the rules whose
//! regexes may match it. It must never reject a blob a rule could match, which
//! `rules::check` verifies on every example.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

use crate::rules::Rule;

/// At most this many keyword hits are recorded per blob; beyond it (a blob made of
/// keywords) rules are searched over the whole blob instead of around hits.
pub const MAX_HITS: usize = 1 << 18;

/// Maps keyword hits to candidate rule indices.
#[derive(Debug)]
pub struct Prefilter {
    automaton: Option<AhoCorasick>,
    /// For each keyword pattern id, the rules it enables.
    rules_of_keyword: Vec<Vec<u32>>,
    /// For each keyword, the shorter keywords it contains (found with it).
    implied: Vec<Vec<u32>>,
    /// For each rule, its keyword ids.
    keywords_of_rule: Vec<Vec<u32>>,
    /// Length of each keyword in bytes.
    keyword_len: Vec<usize>,
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
            if !rule.has_pattern() {
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
        let implied = keywords
            .iter()
            .map(|k| {
                keywords
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.len() < k.len() && k.contains(o.as_str()))
                    .map(|(i, _)| i as u32)
                    .collect()
            })
            .collect();
        let mut keywords_of_rule: Vec<Vec<u32>> = vec![Vec::new(); rules.len()];
        for (k, rs) in rules_of_keyword.iter().enumerate() {
            for &r in rs {
                keywords_of_rule[r as usize].push(k as u32);
            }
        }
        let keyword_len = keywords.iter().map(String::len).collect();
        let automaton = (!keywords.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(&keywords)
                .expect("keyword automaton builds")
        });
        Prefilter {
            automaton,
            rules_of_keyword,
            implied,
            keywords_of_rule,
            keyword_len,
            always,
            rule_count: rules.len(),
        }
    }

    /// Keyword ids of rule `rule`.
    pub fn keywords_of(&self, rule: u32) -> &[u32] {
        &self.keywords_of_rule[rule as usize]
    }

    /// Length in bytes of keyword `kw`.
    pub fn keyword_len(&self, kw: u32) -> usize {
        self.keyword_len[kw as usize]
    }

    /// Write the candidate rule indices for `data` into `out` (sorted, unique), and every
    /// keyword occurrence into `hits` as (start, keyword id), in ascending start order
    /// (a shorter keyword found inside a longer one is recorded at the longer one's start).
    /// `seen` and `kw_seen` are caller-owned scratch, reused between blobs. Returns
    /// whether `hits` is complete (false past [`MAX_HITS`]).
    pub fn candidates(
        &self,
        data: &[u8],
        seen: &mut Vec<bool>,
        kw_seen: &mut Vec<bool>,
        hits: &mut Vec<(usize, u32)>,
        out: &mut Vec<u32>,
    ) -> bool {
        hits.clear();
        let mut complete = true;
        out.clear();
        seen.clear();
        seen.resize(self.rule_count, false);
        for &r in &self.always {
            seen[r as usize] = true;
        }
        if let Some(ac) = &self.automaton {
            // A leftmost-longest search restarted one byte after each match start finds every
            // keyword occurrence: shorter keywords inside a longer match come from `implied`,
            // and occurrences starting later are found by the restart. Unlike an overlapping
            // search this keeps the automaton's vectorised prefilter.
            kw_seen.clear();
            kw_seen.resize(self.rules_of_keyword.len(), false);
            let mut at = 0;
            while at < data.len() {
                let Some(m) = ac.find(Input::new(data).range(at..)) else {
                    break;
                };
                let k = m.pattern().as_usize();
                for k in std::iter::once(k).chain(self.implied[k].iter().map(|&i| i as usize)) {
                    if hits.len() < MAX_HITS {
                        hits.push((m.start(), k as u32));
                    } else {
                        complete = false;
                    }
                    if !kw_seen[k] {
                        kw_seen[k] = true;
                        for &r in &self.rules_of_keyword[k] {
                            seen[r as usize] = true;
                        }
                    }
                }
                at = m.start() + 1;
            }
        }
        out.extend(
            seen.iter()
                .enumerate()
                .filter(|(_, s)| **s)
                .map(|(i, _)| i as u32),
        );
        complete
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::RuleSet;

    /// Keywords that overlap or contain each other must all be found.
    #[test]
    fn overlapping_and_nested_keywords_are_all_found() {
        let specs: Vec<(String, crate::rules::RuleSpec)> = [("a.x", "sk_live_"), ("a.y", "live_t"), ("a.z", "sk_")]
            .iter()
            .map(|(id, kw)| {
                let spec: crate::rules::RuleSpec = toml::from_str(&format!(
                    "id = \"{id}\"\nname = \"n\"\nseverity = \"low\"\npattern = '''(q{{4}})'''\nkeywords = [\"{kw}\"]"
                ))
                .unwrap();
                ("t".to_string(), spec)
            })
            .collect();
        let set = RuleSet::compile(specs).unwrap();
        let (mut seen, mut kw, mut hits, mut out) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        set.prefilter.candidates(
            b"xx SK_LIVE_TEST yy",
            &mut seen,
            &mut kw,
            &mut hits,
            &mut out,
        );
        assert_eq!(out, vec![0, 1, 2]);
        let starts: Vec<usize> = hits.iter().map(|h| h.0).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{hits:?}");
        assert_eq!(hits.len(), 3, "{hits:?}");
        set.prefilter
            .candidates(b"nothing here", &mut seen, &mut kw, &mut hits, &mut out);
        assert!(out.is_empty() && hits.is_empty());
    }
}

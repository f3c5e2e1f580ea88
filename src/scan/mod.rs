//! The matcher: a per-thread [`Scanner`] runs the keyword prefilter over a
//! whole blob, then only the candidate rules' regexes, and emits [`Match`]es
//! (byte offsets only). It never reads files, allocates per line or prints.

pub mod filters;
pub mod location;
pub mod prefilter;

use std::ops::Range;

use regex::bytes::CaptureLocations;

use crate::rules::{Filter, Rule, RuleSet};

/// One rule hit in one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in the rule set.
    pub rule: u32,
    /// The whole regex match (empty for file rules).
    pub span: Range<usize>,
    /// The secret inside the match (the whole blob for file rules).
    pub secret: Range<usize>,
}

/// A blob is binary when its first 8 KiB hold a NUL byte.
pub fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(8192)]).is_some()
}

/// Per-thread matcher with reusable scratch space.
pub struct Scanner<'r> {
    rules: &'r RuleSet,
    seen: Vec<bool>,
    kw_seen: Vec<bool>,
    hits: Vec<(usize, u32)>,
    windows: Vec<(usize, usize)>,
    candidates: Vec<u32>,
    locs: Vec<Option<CaptureLocations>>,
}

impl<'r> Scanner<'r> {
    /// A scanner over a shared rule set.
    pub fn new(rules: &'r RuleSet) -> Scanner<'r> {
        Scanner {
            rules,
            seen: Vec::new(),
            kw_seen: Vec::new(),
            hits: Vec::new(),
            windows: Vec::new(),
            candidates: Vec::new(),
            locs: (0..rules.rules.len()).map(|_| None).collect(),
        }
    }

    /// The rule set.
    pub fn rules(&self) -> &'r RuleSet {
        self.rules
    }

    /// Scan one blob seen at `path`: file rules, then content rules.
    /// Matches are appended to `out`. Binary blobs only go through file rules.
    pub fn scan_blob(&mut self, path: &str, data: &[u8], out: &mut Vec<Match>) {
        self.scan_file_rules(path, data, out);
        self.scan_content(Some(path), data, out);
    }

    /// File rules only: the path alone decides (plus the env-file check).
    pub fn scan_file_rules(&mut self, path: &str, data: &[u8], out: &mut Vec<Match>) {
        let rules = self.rules;
        for i in rules.rules_for_path(path) {
            let rule = &rules.rules[i as usize];
            if !rule.has_pattern() && file_rule_fires(rule, path, data) {
                out.push(Match {
                    rule: i,
                    span: 0..0,
                    secret: 0..data.len(),
                });
            }
        }
    }

    /// Content rules: prefilter, then candidate regexes over the whole blob.
    /// With `path = None` (history blobs scanned before their paths are known) no
    /// path-based filter drops anything and path-restricted rules are skipped: the
    /// caller re-scans, with their paths, the blobs that matched and the blobs whose
    /// paths a path-restricted rule names.
    pub fn scan_content(&mut self, path: Option<&str>, data: &[u8], out: &mut Vec<Match>) {
        let start = out.len();
        let rules = self.rules;
        if is_binary(data) {
            return;
        }
        let hits_complete = rules.prefilter.candidates(
            data,
            &mut self.seen,
            &mut self.kw_seen,
            &mut self.hits,
            &mut self.candidates,
        );
        for &ri in &self.candidates {
            let rule = &rules.rules[ri as usize];
            let Some(compiled) = rule.compiled() else {
                continue;
            };
            let re = &compiled.regex;
            if let Some(p) = &rule.path {
                // Without a path, path-restricted rules wait for the re-scan with one.
                if !path.is_some_and(|path| p.is_match(path.as_bytes())) {
                    continue;
                }
            }
            // A rule whose matches are bounded and must contain a keyword is searched only
            // in windows around its keywords' hits: a match holding the hit at `p` lies
            // within `[p - max_len, p + max_len]`. Otherwise the whole blob is searched.
            self.windows.clear();
            match compiled.max_len {
                Some(max) if hits_complete && !rule.spec.keywords.is_empty() => {
                    let kws = rules.prefilter.keywords_of(ri);
                    for &(p, k) in &self.hits {
                        if kws.contains(&k) {
                            let (ws, we) = (
                                p.saturating_sub(max),
                                (p + max + rules.prefilter.keyword_len(k)).min(data.len()),
                            );
                            match self.windows.last_mut() {
                                Some(last) if ws <= last.1 => last.1 = last.1.max(we),
                                _ => self.windows.push((ws, we)),
                            }
                        }
                    }
                }
                _ => self.windows.push((0, data.len())),
            }
            #[cfg(feature = "rule-timing")]
            let _timer = timing::Timer::start(ri as usize, &rule.spec.id);
            let locs = self.locs[ri as usize].get_or_insert_with(|| re.capture_locations());
            let mut last_end = 0;
            for &(ws, we) in &self.windows {
                let mut at = ws.max(last_end);
                while at <= we {
                    let Some(mut m) = re.captures_read_at(locs, &data[..we], at) else {
                        break;
                    };
                    if m.end() == we && we < data.len() {
                        // The window's end may have cut the match short (or made `\b`/`$`
                        // match): decide with the whole blob.
                        match re.captures_read_at(locs, data, m.start()) {
                            Some(full) => m = full,
                            None => break,
                        }
                    }
                    at = if m.end() > m.start() {
                        m.end()
                    } else {
                        m.end() + 1
                    };
                    last_end = at;
                    let Some((s, e)) = locs.get(rule.secret_group) else {
                        continue;
                    };
                    if s == e {
                        continue;
                    }
                    let key = compiled.key_group.and_then(|g| locs.get(g));
                    if accept(rule, path, data, s..e, key) {
                        out.push(Match {
                            rule: ri,
                            span: m.start()..m.end(),
                            secret: s..e,
                        });
                    }
                }
            }
        }
        if out.len() - start >= 2 {
            let mut found = out.split_off(start);
            resolve_overlaps(rules, &mut found);
            out.extend(found);
        }
    }
}

/// Per-rule regex time (cargo feature `rule-timing`), reported by [`timing::report`].
#[cfg(feature = "rule-timing")]
pub mod timing {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    static TOTALS: Mutex<Vec<(String, Duration, u64)>> = Mutex::new(Vec::new());

    /// Adds the time until drop to a rule's total.
    pub struct Timer {
        rule: usize,
        id: String,
        start: Instant,
    }

    impl Timer {
        /// Start timing rule `rule`.
        pub fn start(rule: usize, id: &str) -> Timer {
            Timer {
                rule,
                id: id.to_string(),
                start: Instant::now(),
            }
        }
    }

    impl Drop for Timer {
        fn drop(&mut self) {
            let mut t = TOTALS.lock().expect("timing lock");
            if t.len() <= self.rule {
                t.resize(self.rule + 1, (String::new(), Duration::ZERO, 0));
            }
            let e = &mut t[self.rule];
            e.0.clone_from(&self.id);
            e.1 += self.start.elapsed();
            e.2 += 1;
        }
    }

    /// Print the 25 most expensive rules to stderr.
    pub fn report() {
        let mut t = TOTALS.lock().expect("timing lock").clone();
        t.sort_by_key(|e| std::cmp::Reverse(e.1));
        for (id, d, n) in t.iter().take(25).filter(|e| e.2 > 0) {
            eprintln!(
                "rule-timing: {:>9.1} ms {:>7} blobs  {id}",
                d.as_secs_f64() * 1e3,
                n
            );
        }
    }
}

/// File rules fire on the name; env files also need their content checked.
fn file_rule_fires(rule: &Rule, path: &str, data: &[u8]) -> bool {
    if !rule.has_filter(Filter::Dotenv) {
        return true;
    }
    match filters::env_file_kind(path) {
        filters::EnvFileKind::Real => true,
        filters::EnvFileKind::Template => filters::parse_env(data, path).iter().any(|e| e.real),
    }
}

/// Entropy, allow list and filters for one candidate secret.
fn accept(
    rule: &Rule,
    path: Option<&str>,
    data: &[u8],
    secret: Range<usize>,
    key_span: Option<(usize, usize)>,
) -> bool {
    let value = &data[secret.clone()];
    let key = key_span.map(|(a, b)| &data[a..b]);
    if let Some(min) = rule.spec.min_entropy {
        if filters::entropy(value) < min {
            return false;
        }
    }
    if rule.allow.iter().any(|a| a.is_match(value)) {
        return false;
    }
    for f in &rule.spec.filters {
        let ok = match f {
            Filter::Placeholder => {
                let cx = filters::ValueContext {
                    value,
                    before: secret.start.checked_sub(1).map(|i| data[i]),
                    after: &data[secret.end..data.len().min(secret.end + 64)],
                    between: key_span
                        .filter(|&(_, b)| b <= secret.start)
                        .map_or(&[][..], |(_, b)| &data[b..secret.start]),
                    path,
                    key,
                };
                !filters::is_placeholder(&cx)
            }
            Filter::Keyname => key
                .is_some_and(|k| filters::is_secret_key(k) && filters::generic_value_ok(k, value)),
            Filter::Jwt => filters::is_jwt(value),
            Filter::Dotenv => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Where secrets of several rules overlap, keep only the most precise rule:
/// a generic `token = "..."` rule yields to the provider rule on the same token.
fn resolve_overlaps(rules: &RuleSet, found: &mut Vec<Match>) {
    found.sort_by_key(|m| (m.secret.start, m.secret.end, m.rule));
    let rank = |m: &Match| {
        (
            rules.rules[m.rule as usize].spec.precision,
            m.secret.end - m.secret.start,
        )
    };
    let mut drop = vec![false; found.len()];
    for i in 0..found.len() {
        if found[i].span.is_empty() {
            continue;
        }
        for j in i + 1..found.len() {
            if found[j].secret.start >= found[i].secret.end {
                break;
            }
            if found[j].span.is_empty() {
                continue;
            }
            match rank(&found[i]).cmp(&rank(&found[j])) {
                std::cmp::Ordering::Less => drop[i] = true,
                std::cmp::Ordering::Greater => drop[j] = true,
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    let mut k = 0;
    found.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
}

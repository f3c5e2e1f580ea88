//! The advisory model every database is converted into (OSV's, trimmed to what
//! matching and reporting need), and OSV range evaluation: `introduced`,
//! `fixed`, `last_affected` and `limit` events of SEMVER and ECOSYSTEM ranges,
//! plus explicit `versions` lists. Pure; no I/O.

use std::cmp::Ordering;

use super::version::Version;
use crate::source::lockfile::Ecosystem;

/// One advisory, from any database.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Advisory {
    /// Its id in its database (`RUSTSEC-2020-0071`, `PYSEC-2021-1`, `GHSA-…`).
    pub id: String,
    /// Other ids for the same issue (CVE, GHSA, …).
    pub aliases: Vec<String>,
    /// One-line summary.
    pub summary: String,
    /// Longer description (Markdown).
    pub details: String,
    /// Advisory page.
    pub url: Option<String>,
    /// Reference URLs.
    pub references: Vec<String>,
    /// CVSS vector and base score, when the advisory has one.
    pub cvss: Option<Cvss>,
    /// A severity label the database gives without CVSS (GHSA's `database_specific.severity`).
    pub severity_label: Option<crate::finding::Severity>,
    /// RustSec informational kind (`unmaintained`, `unsound`, `notice`): a warning, not a vulnerability.
    pub informational: Option<String>,
    /// Withdrawn advisories are never reported.
    pub withdrawn: bool,
    /// Affected packages.
    pub affected: Vec<Affected>,
    /// RustSec's `[versions] patched` requirements, shown as the fix.
    pub patched: Vec<String>,
    /// Day of its last change, `YYYY-MM-DD` (OSV `modified`, else `published`;
    /// RustSec's `date`): the newest tells how current a database is.
    #[serde(default)]
    pub modified: Option<String>,
    /// Name of the database it came from.
    #[serde(skip)]
    pub database: String,
    /// Position of that database on the command line (earlier wins on duplicates).
    #[serde(skip)]
    pub database_order: usize,
}

/// A CVSS vector with its base score.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cvss {
    /// The vector string (`CVSS:3.1/AV:N/…`).
    pub vector: String,
    /// Base score, 0.0–10.0.
    pub score: f64,
}

impl Cvss {
    /// Parse a CVSS v3 or v4 vector; `None` when the `cvss` crate cannot read it.
    pub fn parse(vector: &str) -> Option<Cvss> {
        let c: cvss::Cvss = vector.trim().parse().ok()?;
        Some(Cvss {
            vector: vector.trim().to_string(),
            score: c.score(),
        })
    }
}

/// One affected package of an advisory.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Affected {
    /// Its ecosystem.
    pub ecosystem: Ecosystem,
    /// Normalized name ([`Ecosystem::normalize_name`]).
    pub name: String,
    /// Ranges of affected versions.
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    pub versions: Vec<String>,
}

/// Range types of OSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RangeKind {
    /// Semantic versions.
    Semver,
    /// The ecosystem's own version scheme.
    Ecosystem,
    /// Git commits: not comparable with a version, ignored with a note.
    Git,
}

/// One OSV range.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Range {
    /// Its type.
    pub kind: RangeKind,
    /// Its events, as written.
    pub events: Vec<Event>,
}

/// One OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Event {
    /// Affected from this version on (`"0"`: from the first version).
    Introduced(String),
    /// Not affected from this version on.
    Fixed(String),
    /// Affected up to and including this version.
    LastAffected(String),
    /// Nothing at or above this version is affected by this range (`"*"`: no limit).
    Limit(String),
}

impl Event {
    fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// A version of an event, or the two open ends OSV writes as `"0"` and `"*"`.
#[derive(Debug, Clone)]
enum Bound {
    Zero,
    Infinity,
    At(Version),
}

impl Bound {
    fn parse(eco: Ecosystem, s: &str) -> Result<Bound, String> {
        match s.trim() {
            "0" => Ok(Bound::Zero),
            "*" => Ok(Bound::Infinity),
            v => Version::parse(eco, v)
                .map(Bound::At)
                .ok_or_else(|| format!("{v:?} is not a {eco} version")),
        }
    }
    /// `self` compared with a concrete version.
    fn cmp_version(&self, v: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Less,
            Bound::Infinity => Ordering::Greater,
            Bound::At(b) => b.compare(v).unwrap_or(Ordering::Greater),
        }
    }
    fn cmp(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) | (Bound::Infinity, Bound::Infinity) => Ordering::Equal,
            (Bound::Zero, _) | (_, Bound::Infinity) => Ordering::Less,
            (_, Bound::Zero) | (Bound::Infinity, _) => Ordering::Greater,
            (Bound::At(a), Bound::At(b)) => a.compare(b).unwrap_or(Ordering::Equal),
        }
    }
}

/// Why a range could not be evaluated (reported as a note, never silently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// A GIT range: commits, not versions.
    GitRange,
    /// An event whose version does not parse in the ecosystem.
    BadVersion(String),
}

impl Range {
    /// Is `v` inside this range? Evaluated per the OSV specification: events
    /// sorted by version, `introduced` opens, `fixed` closes before,
    /// `last_affected` closes after, and `limit` caps the whole range.
    pub fn contains(&self, eco: Ecosystem, v: &Version) -> Result<bool, Skipped> {
        if self.kind == RangeKind::Git {
            return Err(Skipped::GitRange);
        }
        let mut events = Vec::with_capacity(self.events.len());
        for e in &self.events {
            let b = Bound::parse(eco, e.version()).map_err(Skipped::BadVersion)?;
            events.push((b, e));
        }
        // Stable sort by version; on ties `introduced` comes first, so an
        // empty range (introduced = fixed) stays empty.
        let rank = |e: &Event| match e {
            Event::Introduced(_) => 0,
            Event::LastAffected(_) => 1,
            Event::Fixed(_) => 2,
            Event::Limit(_) => 3,
        };
        events.sort_by(|a, b| a.0.cmp(&b.0).then(rank(a.1).cmp(&rank(b.1))));
        let mut affected = false;
        for (b, e) in &events {
            let ord = b.cmp_version(v); // bound vs v
            match e {
                Event::Introduced(_) if ord != Ordering::Greater => affected = true,
                Event::Fixed(_) if ord != Ordering::Greater => affected = false,
                Event::LastAffected(_) if ord == Ordering::Less => affected = false,
                _ => {}
            }
        }
        // OSV: with `limit` events, a version is in the range only below at least one of them.
        let mut limits = events.iter().filter(|(_, e)| matches!(e, Event::Limit(_)));
        let below_a_limit = limits.clone().next().is_none()
            || limits.any(|(b, _)| b.cmp_version(v) == Ordering::Greater);
        Ok(affected && below_a_limit)
    }
}

/// The outcome of checking one version against one affected package.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The version is affected.
    pub affected: bool,
    /// Ranges that could not be evaluated, and why.
    pub skipped: Vec<Skipped>,
}

impl Affected {
    /// Is `v` (of this package's ecosystem) affected? Listed `versions` are
    /// compared by the ecosystem's equality (PEP 440: `1.0 == 1.0.0`).
    pub fn check(&self, v: &Version) -> Verdict {
        let mut out = Verdict::default();
        if self.versions.iter().any(|s| {
            Version::parse(self.ecosystem, s).is_some_and(|x| x.compare(v) == Some(Ordering::Equal))
        }) {
            out.affected = true;
            return out;
        }
        for r in &self.ranges {
            match r.contains(self.ecosystem, v) {
                Ok(true) => {
                    out.affected = true;
                    return out;
                }
                Ok(false) => {}
                Err(s) => out.skipped.push(s),
            }
        }
        out
    }

    /// Every `fixed` version of the ranges, in version order, deduplicated.
    pub fn fixed_versions(&self) -> Vec<String> {
        let mut fixed: Vec<(Option<Version>, String)> = self
            .ranges
            .iter()
            .flat_map(|r| &r.events)
            .filter_map(|e| match e {
                Event::Fixed(f) => Some((Version::parse(self.ecosystem, f), f.clone())),
                _ => None,
            })
            .collect();
        fixed.sort_by(|a, b| match (&a.0, &b.0) {
            (Some(x), Some(y)) => x.compare(y).unwrap_or(Ordering::Equal),
            _ => a.1.cmp(&b.1),
        });
        fixed.dedup_by(|a, b| a.1 == b.1);
        fixed.into_iter().map(|(_, s)| s).collect()
    }

    /// The smallest `fixed` version above `v` that is itself not affected.
    pub fn smallest_fix(&self, v: &Version) -> Option<String> {
        self.fixed_versions().into_iter().find(|f| {
            Version::parse(self.ecosystem, f).is_some_and(|fv| {
                fv.compare(v) == Some(Ordering::Greater) && !self.check(&fv).affected
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(kind: RangeKind, events: &[Event]) -> Range {
        Range {
            kind,
            events: events.to_vec(),
        }
    }
    fn i(v: &str) -> Event {
        Event::Introduced(v.into())
    }
    fn f(v: &str) -> Event {
        Event::Fixed(v.into())
    }
    fn la(v: &str) -> Event {
        Event::LastAffected(v.into())
    }
    fn lim(v: &str) -> Event {
        Event::Limit(v.into())
    }
    fn hit(eco: Ecosystem, r: &Range, v: &str) -> bool {
        r.contains(eco, &Version::parse(eco, v).unwrap()).unwrap()
    }

    #[test]
    fn introduced_fixed_is_half_open() {
        let c = Ecosystem::CratesIo;
        let r = range(RangeKind::Semver, &[i("1.0.0"), f("1.2.0")]);
        assert!(!hit(c, &r, "0.9.9"));
        assert!(hit(c, &r, "1.0.0"));
        assert!(hit(c, &r, "1.1.99"));
        assert!(
            hit(c, &r, "1.2.0-rc.1"),
            "pre-release of the fix is still affected"
        );
        assert!(!hit(c, &r, "1.2.0"));
    }

    #[test]
    fn zero_last_affected_limit_and_multiple_intervals() {
        let c = Ecosystem::CratesIo;
        let r = range(RangeKind::Semver, &[i("0"), la("1.0.0")]);
        assert!(hit(c, &r, "0.0.0-0"));
        assert!(hit(c, &r, "1.0.0"));
        assert!(!hit(c, &r, "1.0.1"));
        // Unsorted events, two intervals.
        let r = range(
            RangeKind::Semver,
            &[f("3.1.0"), i("3.0.0"), i("1.0.0"), f("2.0.0")],
        );
        assert!(hit(c, &r, "1.5.0"));
        assert!(!hit(c, &r, "2.5.0"));
        assert!(hit(c, &r, "3.0.5"));
        assert!(!hit(c, &r, "3.1.0"));
        let r = range(RangeKind::Semver, &[i("0"), lim("2.0.0")]);
        assert!(hit(c, &r, "1.9.9"));
        assert!(!hit(c, &r, "2.0.0"));
        let r = range(RangeKind::Semver, &[i("1.0.0"), lim("*")]);
        assert!(hit(c, &r, "9.0.0"));
        // Several limits: below any one of them is enough.
        let r = range(RangeKind::Semver, &[i("0"), lim("1.0.0"), lim("3.0.0")]);
        assert!(hit(c, &r, "0.5.0"));
        assert!(hit(c, &r, "2.0.0"));
        assert!(!hit(c, &r, "3.0.0"));
        // introduced == fixed is empty.
        let r = range(RangeKind::Semver, &[i("1.0.0"), f("1.0.0")]);
        assert!(!hit(c, &r, "1.0.0"));
    }

    #[test]
    fn pep440_ranges_and_version_lists() {
        let p = Ecosystem::PyPI;
        let r = range(RangeKind::Ecosystem, &[i("0"), f("2.2.24")]);
        assert!(hit(p, &r, "2.2.24rc1"));
        assert!(
            !hit(p, &r, "1!0.1"),
            "epoch 1 sorts after every epoch-0 release"
        );
        assert!(!hit(p, &r, "2.2.24"));
        assert!(!hit(p, &r, "2.2.24.post1"));
        let a = Affected {
            ecosystem: p,
            name: "x".into(),
            ranges: vec![range(RangeKind::Git, &[i("abc")])],
            versions: vec!["1.0".into()],
        };
        let v = Version::parse(p, "1.0.0").unwrap();
        assert!(a.check(&v).affected, "1.0 == 1.0.0 in PEP 440");
        let v = Version::parse(p, "1.1").unwrap();
        assert_eq!(a.check(&v).skipped, [Skipped::GitRange]);
        let bad = range(RangeKind::Ecosystem, &[i("not-a-version")]);
        assert!(matches!(bad.contains(p, &v), Err(Skipped::BadVersion(_))));
    }

    #[test]
    fn smallest_fix_skips_fixes_that_are_affected_again() {
        let c = Ecosystem::CratesIo;
        let a = Affected {
            ecosystem: c,
            name: "x".into(),
            ranges: vec![
                range(RangeKind::Semver, &[i("0"), f("1.0.5")]),
                range(RangeKind::Semver, &[i("1.0.5"), f("1.0.7")]),
                range(RangeKind::Semver, &[i("2.0.0"), f("2.0.3")]),
            ],
            versions: vec![],
        };
        let v = Version::parse(c, "1.0.0").unwrap();
        assert_eq!(a.smallest_fix(&v).as_deref(), Some("1.0.7"));
        assert_eq!(a.fixed_versions(), ["1.0.5", "1.0.7", "2.0.3"]);
        let v = Version::parse(c, "2.0.1").unwrap();
        assert_eq!(a.smallest_fix(&v).as_deref(), Some("2.0.3"));
    }

    #[test]
    fn cvss_scores() {
        let c = Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!(c.score, 9.8);
        assert!(
            Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
                .is_some()
        );
        assert!(Cvss::parse("nonsense").is_none());
    }
}

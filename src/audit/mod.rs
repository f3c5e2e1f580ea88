//! Dependency audit: match pinned lockfile packages against local advisory
//! databases and map each hit to the same [`Finding`] type secrets use
//! (`kind = Advisory`, `rule_id` = the advisory id), with one [`RuleMeta`] per
//! advisory for SARIF.
//!
//! Databases are read by [`db`] (RustSec native via the `rustsec` crate, OSV
//! JSON/YAML, PyPA), converted to one [`advisory::Advisory`] model and matched
//! per the OSV rules ([`advisory::Range::contains`]) with each ecosystem's
//! version ordering ([`version`]). Advisories present in several databases
//! (same id or alias) are reported once. This module never prints and never
//! touches the network ([`update`] does, and only when asked).

pub mod advisory;
pub mod db;
pub mod index;
pub mod native;
pub mod osv;
pub mod update;
pub mod version;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use advisory::{Advisory, Cvss, Skipped};
use version::Version;

use crate::finding::{
    AdvisoryInfo, Finding, FindingKind, Location, Provenance, Severity, Suppression,
    finding_fingerprint, location_fingerprint, secret_hash,
};
use crate::report::RuleMeta;
use crate::rules::Precision;
use crate::scan::location::Position;
use crate::source::lockfile::{Ecosystem, Package};

/// Errors of the audit stage; each names the file or database it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An advisory file could not be parsed.
    #[error("{}: cannot parse advisory: {message}", path.display())]
    Advisory {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A path is not a usable database.
    #[error("{}: {message}", path.display())]
    Database {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `db update` failed for one database (the previous copy is left as it was).
    #[error("updating {name} from {url}: {message}")]
    Update {
        /// Database name.
        name: String,
        /// Remote URL.
        url: String,
        /// What failed.
        message: String,
    },
}

/// An ignore entry from `.preflight.toml` (`[[deps.ignore]]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    /// Advisory id or alias.
    pub id: String,
    /// Why it does not apply (required, not blank).
    #[serde(deserialize_with = "non_blank")]
    pub reason: String,
    /// `YYYY-MM-DD` (a string or a TOML date): the ignore stops applying after this day.
    #[serde(default, deserialize_with = "calendar_date")]
    pub expires: Option<String>,
}

fn non_blank<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(serde::de::Error::custom(
            "`reason` must say why the advisory does not apply",
        ));
    }
    Ok(s)
}

fn calendar_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Date {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let s = match <Date as serde::Deserialize>::deserialize(d)? {
        Date::Text(s) => s,
        Date::Toml(t) => t.to_string(),
    };
    if !is_calendar_date(&s) {
        return Err(serde::de::Error::custom(format!(
            "`expires` must be a date YYYY-MM-DD, not {s:?}"
        )));
    }
    Ok(Some(s))
}

/// `YYYY-MM-DD` naming a day that exists.
pub(crate) fn is_calendar_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The audit's result, ready to merge into a report.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings, sorted.
    pub findings: Vec<Finding>,
    /// One rule per advisory that fired.
    pub rules: BTreeMap<String, RuleMeta>,
    /// Things not audited or ignored, for the report's notes.
    pub notes: Vec<String>,
}

/// Severity of an advisory: informational (unmaintained, unsound) is low;
/// otherwise the CVSS base score's band, else the database's label, else high
/// (an unrated advisory must not slip under `--fail-on high`).
pub fn severity_of(a: &Advisory) -> Severity {
    if a.informational.is_some() {
        return Severity::Low;
    }
    if let Some(c) = &a.cvss {
        return match c.score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        };
    }
    a.severity_label.unwrap_or(Severity::High)
}

/// The names per ecosystem that `packages` need advisories for.
pub fn wanted(packages: &[Package]) -> db::Wanted {
    let mut w = db::Wanted::new();
    for p in packages {
        w.entry(p.ecosystem)
            .or_default()
            .insert(p.ecosystem.normalize_name(&p.name));
    }
    w
}

/// Keep one advisory per id (the one from the earliest database, with the
/// aliases of all), and drop withdrawn ones: an id withdrawn in any database
/// is withdrawn (an older snapshot elsewhere may still list it as active).
pub fn dedup_by_id(mut advisories: Vec<Advisory>) -> Vec<Advisory> {
    let withdrawn: BTreeSet<String> = advisories
        .iter()
        .filter(|a| a.withdrawn)
        .map(|a| a.id.clone())
        .collect();
    advisories.retain(|a| !withdrawn.contains(&a.id));
    advisories.sort_by(|a, b| (&a.id, a.database_order).cmp(&(&b.id, b.database_order)));
    let mut out: Vec<Advisory> = Vec::with_capacity(advisories.len());
    for a in advisories {
        match out.last_mut() {
            Some(prev) if prev.id == a.id => {
                for al in a.aliases {
                    if !prev.aliases.contains(&al) {
                        prev.aliases.push(al);
                    }
                }
                if prev.cvss.is_none() {
                    prev.cvss = a.cvss;
                }
            }
            _ => out.push(a),
        }
    }
    // An advisory without a score takes the CVSS of a record it names as an
    // alias, or that names it (RUSTSEC ↔ GHSA): the same issue gets the same
    // severity whichever record matched the installed version.
    // Scored records by id, and by each id they name (first record wins).
    let mut scores: HashMap<&str, &Cvss> = HashMap::new();
    let mut named_by: HashMap<&str, &Cvss> = HashMap::new();
    for a in out.iter().filter(|a| a.informational.is_none()) {
        if let Some(c) = &a.cvss {
            scores.entry(&a.id).or_insert(c);
            for al in &a.aliases {
                named_by.entry(al).or_insert(c);
            }
        }
    }
    let mut borrowed: Vec<(usize, Cvss)> = Vec::new();
    for (i, a) in out.iter().enumerate() {
        if a.cvss.is_some() || a.informational.is_some() {
            continue;
        }
        let named = a.aliases.iter().find_map(|al| scores.get(al.as_str()));
        if let Some(c) = named.or_else(|| named_by.get(a.id.as_str())) {
            borrowed.push((i, (*c).clone()));
        }
    }
    for (i, c) in borrowed {
        out[i].cvss = Some(c);
    }
    out
}

/// One package version (in one or more lockfiles) hit by one advisory.
struct Hit<'a> {
    adv: &'a Advisory,
    fixed: Vec<String>,
    smallest_fix: Option<String>,
}

/// Match `packages` against `advisories` (already deduplicated by id).
pub fn audit(packages: &[Package], advisories: &[Advisory]) -> Outcome {
    let mut index: HashMap<(Ecosystem, &str), Vec<(usize, usize)>> = HashMap::new();
    for (ai, a) in advisories.iter().enumerate() {
        for (fi, af) in a.affected.iter().enumerate() {
            index
                .entry((af.ecosystem, &af.name))
                .or_default()
                .push((ai, fi));
        }
    }
    // Same package version in several lockfiles (or lines): one group, many locations.
    let mut groups: BTreeMap<(Ecosystem, String, String), Vec<&Package>> = BTreeMap::new();
    for p in packages {
        groups
            .entry((
                p.ecosystem,
                p.ecosystem.normalize_name(&p.name),
                p.version.clone(),
            ))
            .or_default()
            .push(p);
    }
    let mut out = Outcome::default();
    for ((eco, name, version), pkgs) in &groups {
        let Some(cands) = index.get(&(*eco, name.as_str())) else {
            continue;
        };
        let first = pkgs[0];
        let Some(v) = Version::parse(*eco, version) else {
            out.notes.push(format!(
                "{}:{}: {} {version:?} is not a valid {eco} version, not audited",
                first.path, first.line, first.name
            ));
            continue;
        };
        let mut hits: Vec<Hit<'_>> = Vec::new();
        for &(ai, fi) in cands {
            let adv = &advisories[ai];
            let af = &adv.affected[fi];
            let verdict = af.check(&v);
            if !verdict.affected {
                if let Some(Skipped::BadVersion(why)) = verdict
                    .skipped
                    .iter()
                    .find(|s| matches!(s, Skipped::BadVersion(_)))
                {
                    out.notes.push(format!(
                        "{}: a range for {} could not be evaluated ({why}); {} {version} may be affected",
                        adv.id, first.name, first.name
                    ));
                } else if !verdict.skipped.is_empty()
                    && af.versions.is_empty()
                    && verdict.skipped.len() == af.ranges.len()
                {
                    out.notes.push(format!(
                        "{}: only GIT ranges for {}, which cannot be compared with version {version}",
                        adv.id, first.name
                    ));
                }
                continue;
            }
            let fixed = if adv.patched.is_empty() {
                af.fixed_versions()
            } else {
                adv.patched.clone()
            };
            hits.push(Hit {
                adv,
                fixed,
                smallest_fix: af.smallest_fix(&v),
            });
        }
        for merged in merge_aliases(hits) {
            push_finding(&mut out, *eco, name, version, pkgs, merged);
        }
    }
    crate::finding::sort_findings(&mut out.findings);
    out.notes.sort();
    out.notes.dedup();
    out
}

/// Whether two sets of hits may be one advisory. Distinct advisories of one
/// database stay apart even when they share an alias (several RUSTSEC entries
/// can cite one CVE); within a database only records that name each other (a
/// PYSEC record and its GHSA twin in an osv.dev export) are the same advisory.
/// Across databases any shared id is.
fn may_merge(a: &[Hit<'_>], b: &[Hit<'_>]) -> bool {
    a.iter().all(|x| {
        b.iter()
            .all(|y| x.adv.database_order != y.adv.database_order || name_each_other(x, y))
    })
}

/// One record lists the other's id among its aliases.
fn name_each_other(x: &Hit<'_>, y: &Hit<'_>) -> bool {
    x.adv.aliases.contains(&y.adv.id) || y.adv.aliases.contains(&x.adv.id)
}

/// Hits in database order, then by id.
fn by_database(x: &Hit<'_>, y: &Hit<'_>) -> std::cmp::Ordering {
    (x.adv.database_order, &x.adv.id).cmp(&(y.adv.database_order, &y.adv.id))
}

/// Group hits whose ids or aliases overlap; each group is reported once.
/// A hit joins a group it names directly (its id is a member's alias, or a
/// member's id is its alias), or failing that one it shares an alias with;
/// other groups it links are folded into that one only when [`may_merge`]
/// allows it, so a record of a second database citing a CVE that two
/// advisories of the first share neither hides one of them nor lends its
/// severity to the one it does not name.
fn merge_aliases(mut hits: Vec<Hit<'_>>) -> Vec<Vec<Hit<'_>>> {
    hits.sort_by(by_database);
    let mut groups: Vec<(BTreeSet<String>, Vec<Hit<'_>>)> = Vec::new();
    for h in hits {
        let ids: BTreeSet<String> = std::iter::once(h.adv.id.clone())
            .chain(h.adv.aliases.iter().cloned())
            .collect();
        let linked: Vec<usize> = (0..groups.len())
            .filter(|&i| {
                !groups[i].0.is_disjoint(&ids) && may_merge(&groups[i].1, std::slice::from_ref(&h))
            })
            .collect();
        let direct = linked
            .iter()
            .copied()
            .find(|&i| groups[i].1.iter().any(|g| name_each_other(g, &h)));
        let Some(mut j) = direct.or_else(|| linked.first().copied()) else {
            groups.push((ids, vec![h]));
            continue;
        };
        // `h` links the other groups too: fold each into group j where they may
        // be one (from the back, so the indices not yet visited stay valid).
        for &i in linked.iter().rev() {
            if i != j && may_merge(&groups[j].1, &groups[i].1) {
                let (set, hs) = groups.remove(i);
                if i < j {
                    j -= 1;
                }
                groups[j].0.extend(set);
                groups[j].1.extend(hs);
            }
        }
        groups[j].0.extend(ids);
        groups[j].1.push(h);
    }
    groups
        .into_iter()
        .map(|(_, mut hs)| {
            hs.sort_by(by_database);
            hs
        })
        .collect()
}

fn push_finding(
    out: &mut Outcome,
    eco: Ecosystem,
    norm_name: &str,
    version: &str,
    pkgs: &[&Package],
    mut hits: Vec<Hit<'_>>,
) {
    // `hits` are in database order (see `merge_aliases`). The first database's
    // record names the finding, unless it is informational and an aliased
    // record calls the same issue a vulnerability: then that one does (the
    // kind, severity and exit code must not depend on `--db` order).
    if let Some(k) = hits.iter().position(|h| h.adv.informational.is_none()) {
        hits[..=k].rotate_right(1);
    }
    let rep = &hits[0];
    let a = rep.adv;
    let rep_informational = a.informational.is_some();
    let mut aliases: BTreeSet<String> = BTreeSet::new();
    let mut databases: BTreeSet<String> = BTreeSet::new();
    for h in &hits {
        aliases.insert(h.adv.id.clone());
        aliases.extend(h.adv.aliases.iter().cloned());
        databases.insert(h.adv.database.clone());
    }
    aliases.remove(&a.id);
    // The score shown is the one the severity comes from: a vulnerability's,
    // not an informational record's.
    let cvss = hits
        .iter()
        .filter(|h| h.adv.informational.is_none() || rep_informational)
        .find_map(|h| h.adv.cvss.clone());
    let mut severity = severity_of(a);
    if a.cvss.is_none() && a.severity_label.is_none() && a.informational.is_none() {
        if let Some(other) = hits
            .iter()
            .skip(1)
            .find(|h| h.adv.cvss.is_some() && h.adv.informational.is_none())
        {
            severity = severity_of(other.adv);
        }
    }
    let smallest_fix = rep
        .smallest_fix
        .clone()
        .or_else(|| hits.iter().find_map(|h| h.smallest_fix.clone()));
    let fixed = if rep.fixed.is_empty() {
        hits.iter()
            .find(|h| !h.fixed.is_empty())
            .map(|h| h.fixed.clone())
            .unwrap_or_default()
    } else {
        rep.fixed.clone()
    };
    let key = format!("{eco}/{norm_name}@{version}");
    let hash = secret_hash(key.as_bytes());
    let name = &pkgs[0].name;
    let mut locations: Vec<Location> = pkgs
        .iter()
        .map(|p| Location {
            path: p.path.clone(),
            start: Position {
                line: p.line,
                column: 1,
            },
            end: Position {
                line: p.line,
                column: 1,
            },
            fingerprint: location_fingerprint(&a.id, &p.path, &hash),
            snippet: format!("{} {}", p.name, p.version),
            provenance: Provenance::File,
            suppressed: None,
            inline_allow: false,
        })
        .collect();
    locations.sort_by(|x, y| (&x.path, x.start).cmp(&(&y.path, y.start)));
    locations.dedup_by(|x, y| x.path == y.path && x.start == y.start);
    out.findings.push(Finding {
        rule_id: a.id.clone(),
        rule_name: a.summary.clone(),
        kind: FindingKind::Advisory,
        severity,
        fingerprint: finding_fingerprint(&a.id, &hash),
        secret: format!("{name} {version}"),
        secret_value: None,
        keys: Vec::new(),
        locations,
        suppressed: None,
        advisory: Some(Box::new(AdvisoryInfo {
            ecosystem: eco.as_str().to_string(),
            package: name.clone(),
            version: version.to_string(),
            aliases: aliases.into_iter().collect(),
            summary: a.summary.clone(),
            fixed_versions: fixed,
            smallest_fix,
            cvss: cvss.as_ref().map(|c| c.score),
            cvss_vector: cvss.as_ref().map(|c| c.vector.clone()),
            informational: a.informational.clone(),
            url: a.url.clone(),
            databases: databases.into_iter().collect(),
        })),
    });
    out.rules.entry(a.id.clone()).or_insert_with(|| {
        let mut references: Vec<String> = a.url.iter().cloned().collect();
        for r in &a.references {
            if !references.contains(r) && references.len() < 10 {
                references.push(r.clone());
            }
        }
        RuleMeta {
            id: a.id.clone(),
            name: a.summary.clone(),
            description: a.details.trim().to_string(),
            severity,
            precision: Precision::VeryHigh,
            rotate: None,
            references,
            kind: FindingKind::Advisory,
            cvss: cvss.as_ref().map(|c| c.score),
            informational: a.informational.clone(),
        }
    });
}

/// Today's date as `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    let days = db::now().div_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Seconds since the epoch at the start of `YYYY-MM-DD` (UTC), if it is a date.
pub fn epoch_of(date: &str) -> Option<i64> {
    if !is_calendar_date(date) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (
        date[0..4].parse().ok()?,
        date[5..7].parse().ok()?,
        date[8..10].parse().ok()?,
    );
    // Days-from-civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

/// Mark findings matched by an ignore entry (by id or alias) as suppressed.
/// Returns notes for expired entries, unused entries and malformed dates.
pub fn apply_ignores(findings: &mut [Finding], ignores: &[Ignore], today: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let mut used = vec![false; ignores.len()];
    for (i, ig) in ignores.iter().enumerate() {
        if let Some(e) = &ig.expires {
            if !is_calendar_date(e) {
                notes.push(format!(
                    ".preflight.toml: deps.ignore {}: expires {e:?} is not a YYYY-MM-DD date; the entry is not applied",
                    ig.id
                ));
                used[i] = true;
                continue;
            }
            if e.as_str() < today {
                notes.push(format!(
                    ".preflight.toml: deps.ignore {} expired on {e}; it no longer applies",
                    ig.id
                ));
                used[i] = true;
                continue;
            }
        }
        for f in findings.iter_mut() {
            if f.kind != FindingKind::Advisory {
                continue;
            }
            let aliases = f
                .advisory
                .as_ref()
                .map(|a| a.aliases.as_slice())
                .unwrap_or(&[]);
            if f.rule_id == ig.id || aliases.contains(&ig.id) {
                used[i] = true;
                let s = Suppression::AdvisoryIgnore {
                    reason: ig.reason.clone(),
                };
                for l in &mut f.locations {
                    l.suppressed = Some(s.clone());
                }
                f.suppressed = Some(s);
            }
        }
    }
    for (i, ig) in ignores.iter().enumerate() {
        if !used[i] {
            notes.push(format!(
                ".preflight.toml: deps.ignore {} matches no finding (fixed? remove the entry)",
                ig.id
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::advisory::{Affected, Event, Range, RangeKind};
    use super::*;

    fn adv(
        id: &str,
        aliases: &[&str],
        eco: Ecosystem,
        name: &str,
        fixed: &str,
        db: usize,
    ) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            summary: format!("{id} summary"),
            affected: vec![Affected {
                ecosystem: eco,
                name: eco.normalize_name(name),
                ranges: vec![Range {
                    kind: RangeKind::Ecosystem,
                    events: vec![Event::Introduced("0".into()), Event::Fixed(fixed.into())],
                }],
                versions: vec![],
            }],
            database: format!("db{db}"),
            database_order: db,
            ..Default::default()
        }
    }

    fn pkg(eco: Ecosystem, name: &str, version: &str, path: &str, line: usize) -> Package {
        Package {
            ecosystem: eco,
            name: name.into(),
            version: version.into(),
            path: path.into(),
            line,
        }
    }

    #[test]
    fn aliases_across_databases_are_reported_once() {
        let p = Ecosystem::PyPI;
        let advs = dedup_by_id(vec![
            adv("PYSEC-2021-1", &["CVE-2021-1"], p, "Django", "3.2.1", 0),
            adv("GHSA-xxxx", &["CVE-2021-1"], p, "django", "3.2.1", 1),
            adv("PYSEC-2021-2", &[], p, "django", "3.2.1", 0),
            adv("PYSEC-2021-1", &["GHSA-xxxx"], p, "django", "3.2.1", 2),
        ]);
        assert_eq!(advs.len(), 3);
        let pkgs = [
            pkg(p, "Django", "3.2.0", "a/requirements.txt", 3),
            pkg(p, "django", "3.2.0", "poetry.lock", 10),
        ];
        let out = audit(&pkgs, &advs);
        let ids: Vec<&str> = out.findings.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, ["PYSEC-2021-1", "PYSEC-2021-2"]);
        let f = &out.findings[0];
        assert_eq!(f.locations.len(), 2);
        let info = f.advisory.as_ref().unwrap();
        assert_eq!(info.aliases, ["CVE-2021-1", "GHSA-xxxx"]);
        assert_eq!(info.smallest_fix.as_deref(), Some("3.2.1"));
        assert_eq!(
            f.severity,
            Severity::High,
            "unrated advisories count as high"
        );
        assert_eq!(out.rules.len(), 2);
    }

    #[test]
    fn an_unscored_advisory_takes_its_alias_score_whichever_record_matches() {
        let c = Ecosystem::CratesIo;
        let mut ghsa = adv(
            "GHSA-fx00-0000-0009",
            &["RUSTSEC-2099-0009"],
            c,
            "demo",
            "1.5.0",
            1,
        );
        ghsa.cvss = Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:H/A:N");
        let advs = dedup_by_id(vec![
            adv("RUSTSEC-2099-0009", &[], c, "demo", "2.0.1", 0),
            ghsa,
        ]);
        // 1.8.0: only the RustSec record's range matches.
        let out = audit(&[pkg(c, "demo", "1.8.0", "Cargo.lock", 3)], &advs);
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].rule_id, "RUSTSEC-2099-0009");
        assert_eq!(
            out.findings[0].severity,
            Severity::Medium,
            "6.5 from the GHSA twin"
        );
    }

    #[test]
    fn dates_to_epoch() {
        assert_eq!(epoch_of("1970-01-01"), Some(0));
        assert_eq!(epoch_of("2000-03-01"), Some(951_868_800));
        assert_eq!(epoch_of("2024-02-29"), Some(1_709_164_800));
        assert_eq!(epoch_of("2023-02-29"), None);
    }

    #[test]
    fn twins_in_one_database_are_one_finding_but_a_shared_cve_is_not() {
        let p = Ecosystem::PyPI;
        let c = Ecosystem::CratesIo;
        // An osv.dev export: a PYSEC record and its GHSA twin name each other.
        let advs = dedup_by_id(vec![
            adv(
                "PYSEC-2099-50",
                &["GHSA-fx00-0000-0050", "CVE-2099-50"],
                p,
                "demo",
                "2.0",
                0,
            ),
            adv(
                "GHSA-fx00-0000-0050",
                &["PYSEC-2099-50", "CVE-2099-50"],
                p,
                "demo",
                "2.0",
                0,
            ),
            // Two RustSec advisories citing one CVE are two advisories.
            adv(
                "RUSTSEC-2099-0100",
                &["CVE-2099-77"],
                c,
                "demo-rs",
                "2.0.0",
                0,
            ),
            adv(
                "RUSTSEC-2099-0101",
                &["CVE-2099-77"],
                c,
                "demo-rs",
                "2.0.0",
                0,
            ),
        ]);
        let pkgs = [
            pkg(p, "demo", "1.0", "requirements.txt", 1),
            pkg(c, "demo-rs", "1.0.0", "Cargo.lock", 5),
        ];
        let out = audit(&pkgs, &advs);
        let ids: Vec<&str> = out.findings.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert!(ids.contains(&"RUSTSEC-2099-0100") && ids.contains(&"RUSTSEC-2099-0101"));
        assert_eq!(
            ids.iter()
                .filter(|i| ["PYSEC-2099-50", "GHSA-fx00-0000-0050"].contains(i))
                .count(),
            1
        );
    }

    /// A record of a second database citing the CVE that two advisories of the
    /// first share joins one of them; it does not fold the two together.
    #[test]
    fn a_second_database_does_not_merge_two_advisories_of_the_first() {
        let c = Ecosystem::CratesIo;
        let advs = dedup_by_id(vec![
            adv(
                "RUSTSEC-2099-0200",
                &["CVE-2099-9", "GHSA-fx00-0000-0200"],
                c,
                "demo",
                "2.0.0",
                0,
            ),
            adv("RUSTSEC-2099-0201", &["CVE-2099-9"], c, "demo", "3.0.0", 0),
            adv(
                "GHSA-fx00-0000-0200",
                &["CVE-2099-9"],
                c,
                "demo",
                "2.0.0",
                1,
            ),
        ]);
        let out = audit(&[pkg(c, "demo", "1.0.0", "Cargo.lock", 3)], &advs);
        let ids: Vec<&str> = out.findings.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, ["RUSTSEC-2099-0200", "RUSTSEC-2099-0201"]);
        let fix = |i: usize| {
            out.findings[i]
                .advisory
                .as_ref()
                .unwrap()
                .smallest_fix
                .clone()
        };
        assert_eq!(fix(0).as_deref(), Some("2.0.0"));
        assert_eq!(
            fix(1).as_deref(),
            Some("3.0.0"),
            "its own fix, not its neighbour's"
        );
    }

    /// One database calls an issue informational, an aliased record of another a
    /// vulnerability: it is a vulnerability, whichever database comes first.
    #[test]
    fn an_informational_record_does_not_downgrade_its_aliased_vulnerability() {
        let c = Ecosystem::CratesIo;
        for (rs, gh) in [(0, 1), (1, 0)] {
            let mut info = adv(
                "RUSTSEC-2099-0300",
                &["GHSA-fx00-0000-0300"],
                c,
                "demo",
                "2.0.0",
                rs,
            );
            info.informational = Some("unsound".into());
            let mut vuln = adv(
                "GHSA-fx00-0000-0300",
                &["RUSTSEC-2099-0300"],
                c,
                "demo",
                "2.0.0",
                gh,
            );
            vuln.cvss = Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
            let out = audit(
                &[pkg(c, "demo", "1.0.0", "Cargo.lock", 3)],
                &dedup_by_id(vec![info, vuln]),
            );
            assert_eq!(out.findings.len(), 1);
            let f = &out.findings[0];
            assert!(!f.is_warning(), "db order {rs}/{gh}");
            assert_eq!(f.severity, Severity::Critical);
            assert_eq!(f.rule_id, "GHSA-fx00-0000-0300");
        }
        // Informational everywhere: still a warning.
        let mut a = adv("RUSTSEC-2099-0301", &[], c, "demo", "2.0.0", 0);
        a.informational = Some("unmaintained".into());
        let out = audit(
            &[pkg(c, "demo", "1.0.0", "Cargo.lock", 3)],
            &dedup_by_id(vec![a]),
        );
        assert!(out.findings[0].is_warning());
    }

    /// A record of a second database joins the advisory it names, not one that
    /// merely cites the same CVE (which would lend it the other's severity).
    #[test]
    fn a_record_joins_the_advisory_it_names_not_a_cve_neighbour() {
        let c = Ecosystem::CratesIo;
        let mut info = adv("RUSTSEC-2099-0500", &["CVE-2099-5"], c, "demo", "2.0.0", 0);
        info.informational = Some("unsound".into());
        let named = adv(
            "RUSTSEC-2099-0501",
            &["CVE-2099-5", "GHSA-fx00-0000-0501"],
            c,
            "demo",
            "3.0.0",
            0,
        );
        let mut ghsa = adv(
            "GHSA-fx00-0000-0501",
            &["CVE-2099-5"],
            c,
            "demo",
            "3.0.0",
            1,
        );
        ghsa.cvss = Cvss::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        let out = audit(
            &[pkg(c, "demo", "1.0.0", "Cargo.lock", 3)],
            &dedup_by_id(vec![info, named, ghsa]),
        );
        let got: Vec<(&str, bool, Severity)> = out
            .findings
            .iter()
            .map(|f| (f.rule_id.as_str(), f.is_warning(), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("RUSTSEC-2099-0500", true, Severity::Low),
                ("RUSTSEC-2099-0501", false, Severity::Critical)
            ]
        );
    }

    /// An id withdrawn in one database is withdrawn even where an older copy is active.
    #[test]
    fn withdrawn_anywhere_is_withdrawn() {
        let c = Ecosystem::CratesIo;
        for order in [0, 1] {
            let mut w = adv("RUSTSEC-2099-0400", &[], c, "demo", "2.0.0", order);
            w.withdrawn = true;
            let active = adv("RUSTSEC-2099-0400", &[], c, "demo", "2.0.0", 1 - order);
            assert!(dedup_by_id(vec![w, active]).is_empty());
        }
    }

    #[test]
    fn withdrawn_unparseable_and_unknown_versions() {
        let c = Ecosystem::CratesIo;
        let mut w = adv("RUSTSEC-0000-0009", &[], c, "demo", "1.0.0", 0);
        w.withdrawn = true;
        let advs = dedup_by_id(vec![
            w,
            adv("RUSTSEC-0000-0001", &[], c, "demo", "1.0.0", 0),
        ]);
        let out = audit(
            &[
                pkg(c, "demo", "0.5.0", "Cargo.lock", 7),
                pkg(c, "demo", "weird", "Cargo.lock", 9),
            ],
            &advs,
        );
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].primary().start.line, 7);
        assert!(
            out.notes[0].contains("not a valid crates.io version"),
            "{:?}",
            out.notes
        );
    }

    #[test]
    fn severity_bands() {
        let mut a = Advisory::default();
        assert_eq!(severity_of(&a), Severity::High);
        a.cvss = Cvss::parse("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N");
        assert_eq!(severity_of(&a), Severity::Low);
        a.informational = Some("unmaintained".into());
        assert_eq!(severity_of(&a), Severity::Low);
    }

    #[test]
    fn ignores_expire_and_unused_ones_are_noted() {
        let c = Ecosystem::CratesIo;
        let advs = vec![adv("RUSTSEC-0000-0001", &["CVE-1"], c, "demo", "1.0.0", 0)];
        let mut out = audit(&[pkg(c, "demo", "0.5.0", "Cargo.lock", 7)], &advs);
        let ig = |id: &str, exp: Option<&str>| Ignore {
            id: id.into(),
            reason: "not reachable".into(),
            expires: exp.map(str::to_string),
        };
        let notes = apply_ignores(
            &mut out.findings,
            &[
                ig("CVE-1", Some("2999-01-01")),
                ig("RUSTSEC-1111-1111", None),
            ],
            "2026-01-01",
        );
        assert!(out.findings[0].suppressed.is_some());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("matches no finding"));
        let mut out = audit(&[pkg(c, "demo", "0.5.0", "Cargo.lock", 7)], &advs);
        let notes = apply_ignores(
            &mut out.findings,
            &[ig("CVE-1", Some("2020-01-01"))],
            "2026-01-01",
        );
        assert!(out.findings[0].suppressed.is_none());
        assert!(notes[0].contains("expired"), "{notes:?}");
    }

    #[test]
    fn today_is_a_date() {
        let t = today();
        assert_eq!(t.len(), 10);
        assert!(t.as_str() > "2024-01-01");
    }
}

//! OSV records (JSON, or YAML as the PyPA database writes them) read into
//! [`Advisory`]. Parsing only: which files to read is `db`'s business.

use serde::Deserialize;
use serde_json::Value;

use super::advisory::{Advisory, Affected, Cvss, Event, Range, RangeKind};
use crate::finding::Severity;
use crate::source::lockfile::Ecosystem;

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    withdrawn: Option<Value>,
    #[serde(default)]
    severity: Vec<SeverityEntry>,
    #[serde(default)]
    affected: Vec<AffectedRecord>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    database_specific: Option<Value>,
    // Values, not strings: a malformed date costs the record its date, not the record.
    #[serde(default)]
    modified: Option<Value>,
    #[serde(default)]
    published: Option<Value>,
}

#[derive(Deserialize)]
struct SeverityEntry {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    score: String,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    url: String,
}

#[derive(Deserialize)]
struct AffectedRecord {
    #[serde(default)]
    package: Option<PackageRecord>,
    #[serde(default)]
    ranges: Vec<RangeRecord>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<SeverityEntry>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct PackageRecord {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct RangeRecord {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, Value>>,
}

/// Parse one OSV JSON record.
pub fn parse_json(text: &str) -> Result<Advisory, String> {
    let r: Record = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(convert(r))
}

/// Parse one OSV record from an already parsed JSON value (YAML goes through here).
pub fn parse_value(v: Value) -> Result<Advisory, String> {
    let r: Record = serde_json::from_value(v).map_err(|e| e.to_string())?;
    Ok(convert(r))
}

/// Parse one OSV YAML record (the PyPA layout).
pub fn parse_yaml(text: &str) -> Result<Advisory, String> {
    // Scalars are kept as written (no early parse), so `versions: [2.10]`
    // stays "2.10" instead of becoming the float 2.1.
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader = saphyr::YamlLoader::<saphyr::Yaml<'_>>::default();
    loader.early_parse(false);
    parser.load(&mut loader, true).map_err(|e| e.to_string())?;
    if let Some(e) = loader.error() {
        return Err(e.to_string());
    }
    let doc = loader
        .into_documents()
        .into_iter()
        .next()
        .ok_or("empty YAML document")?;
    parse_value(yaml_to_json(doc))
}

/// A YAML tree as JSON (keys become strings; numbers stay numbers).
fn yaml_to_json(y: saphyr::Yaml<'_>) -> Value {
    use saphyr::{Scalar, Yaml};
    match y {
        Yaml::Value(s) => match s {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(b),
            Scalar::Integer(i) => Value::from(i),
            Scalar::FloatingPoint(f) => Value::from(f.into_inner()),
            Scalar::String(s) => Value::String(s.into_owned()),
        },
        Yaml::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Yaml::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match yaml_to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Tagged(_, inner) => yaml_to_json(*inner),
        Yaml::Representation(s, style, _) => {
            if style == saphyr::ScalarStyle::Plain {
                match &*s {
                    "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
                    "true" | "True" | "TRUE" => return Value::Bool(true),
                    "false" | "False" | "FALSE" => return Value::Bool(false),
                    _ => {}
                }
            }
            Value::String(s.into_owned())
        }
        Yaml::Alias(_) | Yaml::BadValue => Value::Null,
    }
}

fn cvss_of(entries: &[SeverityEntry]) -> Option<Cvss> {
    // Prefer the newest CVSS version the record carries.
    let mut best: Option<(u8, Cvss)> = None;
    for e in entries {
        let rank = match e.kind.as_str() {
            "CVSS_V4" => 4,
            "CVSS_V3" => 3,
            _ => continue,
        };
        if let Some(c) = Cvss::parse(&e.score) {
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, c));
            }
        }
    }
    best.map(|(_, c)| c)
}

fn label(v: Option<&Value>) -> Option<Severity> {
    match v?.as_str()?.to_ascii_uppercase().as_str() {
        "CRITICAL" => Some(Severity::Critical),
        "HIGH" => Some(Severity::High),
        "MODERATE" | "MEDIUM" => Some(Severity::Medium),
        "LOW" => Some(Severity::Low),
        _ => None,
    }
}

fn convert(r: Record) -> Advisory {
    let mut cvss = cvss_of(&r.severity);
    let mut informational = None;
    let mut affected = Vec::new();
    for a in r.affected {
        if cvss.is_none() {
            cvss = cvss_of(&a.severity);
        }
        let db = a.database_specific.as_ref();
        if cvss.is_none() {
            // RustSec's OSV export keeps the vector here as well.
            cvss = db
                .and_then(|d| d.get("cvss"))
                .and_then(Value::as_str)
                .and_then(Cvss::parse);
        }
        if informational.is_none() {
            informational = db
                .and_then(|d| d.get("informational"))
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        let Some(p) = a.package else { continue };
        let Some(eco) = Ecosystem::from_osv(&p.ecosystem) else {
            continue;
        };
        let ranges = a
            .ranges
            .into_iter()
            .map(|rr| Range {
                kind: match rr.kind.as_str() {
                    "SEMVER" => RangeKind::Semver,
                    "ECOSYSTEM" => RangeKind::Ecosystem,
                    _ => RangeKind::Git,
                },
                events: rr
                    .events
                    .into_iter()
                    .flat_map(|m| {
                        m.into_iter().filter_map(|(k, v)| {
                            let v = match v {
                                Value::String(s) => s,
                                other => other.to_string(),
                            };
                            match k.as_str() {
                                "introduced" => Some(Event::Introduced(v)),
                                "fixed" => Some(Event::Fixed(v)),
                                "last_affected" => Some(Event::LastAffected(v)),
                                "limit" => Some(Event::Limit(v)),
                                _ => None,
                            }
                        })
                    })
                    .collect(),
            })
            .collect();
        affected.push(Affected {
            ecosystem: eco,
            name: eco.normalize_name(&p.name),
            ranges,
            versions: a.versions,
        });
    }
    let url = r
        .references
        .iter()
        .find(|x| x.kind == "ADVISORY")
        .map(|x| x.url.clone());
    let withdrawn = r
        .withdrawn
        .as_ref()
        .is_some_and(|w| !w.is_null() && w.as_str() != Some(""));
    Advisory {
        summary: r
            .summary
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| first_sentence(r.details.as_deref().unwrap_or(&r.id))),
        details: r.details.unwrap_or_default(),
        aliases: r.aliases.into_iter().filter(|a| *a != r.id).collect(),
        id: r.id,
        url,
        references: r.references.into_iter().map(|x| x.url).collect(),
        cvss,
        severity_label: label(r.database_specific.as_ref().and_then(|d| d.get("severity"))),
        informational,
        withdrawn,
        affected,
        modified: [r.modified, r.published]
            .iter()
            .flatten()
            .filter_map(|t| t.as_str()?.get(..10))
            .find(|d| super::is_calendar_date(d))
            .map(str::to_string),
        ..Default::default()
    }
}

/// The first sentence (or 100 characters) of a description, for records without a summary.
fn first_sentence(s: &str) -> String {
    let s = s.trim();
    let end = s.find(". ").map_or(s.len(), |i| i + 1);
    let out: String = s[..end].chars().take(100).collect();
    out.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A malformed date costs the record its date, not the record; `published`
    /// stands in for a missing or malformed `modified`.
    #[test]
    fn malformed_dates_are_dropped_not_fatal() {
        let rec = |m: &str| {
            parse_json(&format!(
                r#"{{"id": "OSV-2099-D", "modified": {m}, "published": "2021-04-05T00:00:00Z"}}"#
            ))
        };
        assert_eq!(rec("12").unwrap().modified.as_deref(), Some("2021-04-05"));
        assert_eq!(
            rec(r#""unknown date""#).unwrap().modified.as_deref(),
            Some("2021-04-05")
        );
        assert_eq!(
            rec(r#""2023-13-01T00:00:00Z""#)
                .unwrap()
                .modified
                .as_deref(),
            Some("2021-04-05")
        );
        assert_eq!(
            rec(r#""2024-02-29T10:00:00Z""#)
                .unwrap()
                .modified
                .as_deref(),
            Some("2024-02-29")
        );
    }

    #[test]
    fn json_record_with_cvss_aliases_and_withdrawn() {
        let a = parse_json(r#"{"id":"GHSA-aaaa-bbbb-cccc","aliases":["CVE-2020-1"],"summary":"bad","withdrawn":"2021-01-01T00:00:00Z",
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "database_specific":{"severity":"HIGH"},
            "affected":[{"package":{"ecosystem":"npm","name":"@scope/x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]},
                        {"package":{"ecosystem":"Go","name":"y"}}]}"#).unwrap();
        assert!(a.withdrawn);
        assert_eq!(a.aliases, ["CVE-2020-1"]);
        assert_eq!(a.cvss.unwrap().score, 9.8);
        assert_eq!(a.severity_label, Some(Severity::High));
        assert_eq!(a.affected.len(), 1, "unknown ecosystems are dropped");
        assert_eq!(a.affected[0].ranges[0].events.len(), 2);
    }

    #[test]
    fn yaml_record_like_pypa() {
        let y = "id: PYSEC-2021-1\ndetails: Something bad. More text.\naffected:\n- package:\n    name: Django_Thing\n    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: \"0\"\n    - fixed: 2.2.24\n  - type: GIT\n    repo: https://example.org/x\n    events:\n    - introduced: abc\n  versions:\n  - 1.0\n  - \"2.0\"\n  - 2.10\naliases:\n- CVE-2021-1\n";
        let a = parse_yaml(y).unwrap();
        assert_eq!(a.summary, "Something bad.");
        assert_eq!(a.affected[0].name, "django-thing");
        assert_eq!(a.affected[0].versions, ["1.0", "2.0", "2.10"]);
        assert_eq!(a.affected[0].ranges[1].kind, RangeKind::Git);
        assert!(!a.withdrawn);
        assert!(parse_yaml("id: [unclosed\n").is_err());
        assert!(parse_yaml("just a string\n").is_err());
    }
}

//! RustSec advisories in their native layout (`crates/<name>/RUSTSEC-*.md`),
//! parsed by the `rustsec` crate and converted to [`Advisory`]. `patched` and
//! `unaffected` requirements become SEMVER ranges through rustsec's own
//! conversion, so matching agrees with cargo-audit.

use super::advisory::{Advisory, Affected, Cvss, Event, Range, RangeKind};
use crate::source::lockfile::Ecosystem;

/// Parse one RustSec advisory file (TOML front matter in Markdown).
pub fn parse_rustsec(text: &str) -> Result<Advisory, String> {
    let a: rustsec::Advisory = text.parse().map_err(|e: rustsec::Error| e.to_string())?;
    Ok(convert(a))
}

fn convert(a: rustsec::Advisory) -> Advisory {
    let m = a.metadata;
    let ranges = rustsec::osv::ranges_for_advisory(&a.versions)
        .into_iter()
        .map(|r| {
            let mut events = vec![Event::Introduced(
                r.introduced
                    .map_or_else(|| "0".to_string(), |v| v.to_string()),
            )];
            if let Some(f) = r.fixed {
                events.push(Event::Fixed(f.to_string()));
            }
            Range {
                kind: RangeKind::Semver,
                events,
            }
        })
        .collect();
    let id = m.id.to_string();
    Advisory {
        url: Some(
            m.url
                .map(|u| u.to_string())
                .unwrap_or_else(|| format!("https://rustsec.org/advisories/{id}.html")),
        ),
        aliases: m.aliases.iter().map(|a| a.to_string()).collect(),
        summary: m.title,
        details: m.description,
        references: m.references.iter().map(|u| u.to_string()).collect(),
        cvss: m.cvss.map(|c| Cvss {
            vector: c.to_string(),
            score: c.score(),
        }),
        informational: m.informational.map(|i| i.as_str().to_string()),
        withdrawn: m.withdrawn.is_some(),
        affected: vec![Affected {
            ecosystem: Ecosystem::CratesIo,
            name: Ecosystem::CratesIo.normalize_name(m.package.as_str()),
            ranges,
            versions: Vec::new(),
        }],
        patched: a.versions.patched().iter().map(|r| r.to_string()).collect(),
        modified: Some(m.date.to_string()),
        id,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::version::Version;

    const ADV: &str = r#"```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "demo"
date = "2020-01-01"
aliases = ["CVE-2020-0001"]
cvss = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"

[versions]
patched = [">= 1.2.3, < 2.0.0", ">= 2.0.1"]
unaffected = ["< 1.0.0"]
```

# Demo is broken

Details here.
"#;

    #[test]
    fn patched_and_unaffected_become_ranges() {
        let a = parse_rustsec(ADV).unwrap();
        assert_eq!(a.id, "RUSTSEC-2099-0001");
        assert_eq!(a.aliases, ["CVE-2020-0001"]);
        assert_eq!(a.cvss.as_ref().unwrap().score, 9.8);
        let aff = &a.affected[0];
        let v = |s| Version::parse(Ecosystem::CratesIo, s).unwrap();
        assert!(!aff.check(&v("0.9.0")).affected);
        assert!(aff.check(&v("1.0.0")).affected);
        assert!(!aff.check(&v("1.2.3")).affected);
        assert!(aff.check(&v("2.0.0")).affected);
        assert!(!aff.check(&v("2.0.1")).affected);
        assert_eq!(aff.smallest_fix(&v("1.1.0")).as_deref(), Some("1.2.3"));
        assert_eq!(aff.smallest_fix(&v("2.0.0")).as_deref(), Some("2.0.1"));
        assert!(parse_rustsec("no front matter").is_err());
    }
}

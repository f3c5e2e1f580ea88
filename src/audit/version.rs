//! Versions compared by each ecosystem's own rules: semver (pre-releases
//! included) for crates.io and npm, PEP 440 (epochs, pre/post/dev releases,
//! local versions) for PyPI. Pure; no I/O.

use std::cmp::Ordering;
use std::str::FromStr;

use crate::source::lockfile::Ecosystem;

/// A parsed version of one ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// crates.io and npm.
    Semver(semver::Version),
    /// PyPI.
    Pep440(pep440_rs::Version),
}

impl Version {
    /// Parse `s` by `eco`'s rules; `None` when it is not a version there.
    pub fn parse(eco: Ecosystem, s: &str) -> Option<Version> {
        let s = s.trim();
        match eco {
            Ecosystem::CratesIo => semver::Version::parse(s).ok().map(Version::Semver),
            Ecosystem::Npm => {
                // npm accepts a leading `v` or `=` (node-semver's loose form).
                let s = s.trim_start_matches(['v', '=']).trim();
                semver::Version::parse(s).ok().map(Version::Semver)
            }
            Ecosystem::PyPI => pep440_rs::Version::from_str(s).ok().map(Version::Pep440),
        }
    }

    /// Compare two versions of the same ecosystem (`None` across kinds).
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        match (self, other) {
            (Version::Semver(a), Version::Semver(b)) => Some(a.cmp_precedence(b)),
            (Version::Pep440(a), Version::Pep440(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Version::Semver(v) => v.fmt(f),
            Version::Pep440(v) => v.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(eco: Ecosystem, a: &str, b: &str) -> Ordering {
        Version::parse(eco, a)
            .unwrap()
            .compare(&Version::parse(eco, b).unwrap())
            .unwrap()
    }

    #[test]
    fn semver_orders_prereleases_before_releases() {
        use Ordering::*;
        let c = Ecosystem::CratesIo;
        assert_eq!(cmp(c, "1.0.0-alpha", "1.0.0"), Less);
        assert_eq!(cmp(c, "1.0.0-alpha.2", "1.0.0-alpha.10"), Less);
        assert_eq!(cmp(c, "1.0.0-rc.1", "1.0.0-beta.11"), Greater);
        assert_eq!(cmp(c, "0.0.0-0", "0.0.0"), Less);
        // Build metadata has no precedence.
        assert_eq!(cmp(c, "1.0.0+build.1", "1.0.0+build.2"), Equal);
        assert_eq!(cmp(Ecosystem::Npm, "v1.2.3", "1.2.3"), Equal);
        assert!(Version::parse(c, "1.0").is_none());
        assert!(Version::parse(c, "v1.0.0").is_none());
    }

    #[test]
    fn pep440_epochs_pre_post_dev_local() {
        use Ordering::*;
        let p = Ecosystem::PyPI;
        assert_eq!(cmp(p, "1.0", "1.0.0"), Equal);
        assert_eq!(cmp(p, "1!0.5", "2.0"), Greater);
        assert_eq!(cmp(p, "1.0.dev1", "1.0a1"), Less);
        assert_eq!(cmp(p, "1.0a1", "1.0b1"), Less);
        assert_eq!(cmp(p, "1.0rc1", "1.0"), Less);
        assert_eq!(cmp(p, "1.0", "1.0.post1"), Less);
        assert_eq!(cmp(p, "1.0.post1.dev1", "1.0.post1"), Less);
        assert_eq!(cmp(p, "1.0+local.1", "1.0"), Greater);
        assert_eq!(cmp(p, "1.0+local.1", "1.0.post1"), Less);
        assert_eq!(cmp(p, "2.0.0-RC1", "2.0rc1"), Equal);
        assert!(Version::parse(p, "not a version").is_none());
    }
}

//! CI integration: `--range auto` picks BASE..HEAD from the CI system's
//! environment (GitHub Actions, GitLab CI). Pure functions of the environment
//! and the event file; no git access here.

/// All-zero commit id: "no previous commit" in push events.
const ZERO: &str = "0000000000000000000000000000000000000000";

/// Errors detecting a range.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No supported CI variables were found.
    #[error(
        "--range auto: no CI range found (looked for GitHub Actions GITHUB_EVENT_NAME/GITHUB_BASE_REF/GITHUB_EVENT_PATH and GitLab CI_MERGE_REQUEST_DIFF_BASE_SHA/CI_COMMIT_BEFORE_SHA); pass --range BASE..HEAD"
    )]
    NotFound,
    /// The GitHub event file could not be read or parsed.
    #[error("--range auto: cannot read GitHub event file {path}: {message}")]
    Event {
        /// GITHUB_EVENT_PATH.
        path: String,
        /// Why.
        message: String,
    },
}

/// A detected range with where it came from (for the report's notes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// Base revision (exclusive).
    pub base: String,
    /// Head revision.
    pub head: String,
    /// Human explanation.
    pub why: String,
}

fn is_zero(s: &str) -> bool {
    s.is_empty() || s == ZERO
}

/// Detect `BASE..HEAD` from CI variables; `env` reads a variable, `read` a file.
pub fn detect_range(
    env: impl Fn(&str) -> Option<String>,
    read: impl Fn(&str) -> std::io::Result<String>,
) -> Result<Detected, Error> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    // GitLab merge request pipelines.
    if let (Some(base), Some(head)) = (get("CI_MERGE_REQUEST_DIFF_BASE_SHA"), get("CI_COMMIT_SHA"))
    {
        return Ok(Detected {
            base,
            head,
            why: "GitLab merge request (CI_MERGE_REQUEST_DIFF_BASE_SHA..CI_COMMIT_SHA)".into(),
        });
    }
    // GitLab push pipelines: a new branch has an all-zero "before".
    if get("GITLAB_CI").is_some() {
        if let Some(head) = get("CI_COMMIT_SHA") {
            return Ok(match get("CI_COMMIT_BEFORE_SHA").filter(|b| !is_zero(b)) {
                Some(base) => Detected {
                    base,
                    head,
                    why: "GitLab push (CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA)".into(),
                },
                None => Detected {
                    base: head.clone(),
                    head,
                    why: "GitLab push without a previous commit: scanning CI_COMMIT_SHA alone"
                        .into(),
                },
            });
        }
    }
    // GitHub Actions.
    if let Some(event) = get("GITHUB_EVENT_NAME") {
        let head = get("GITHUB_SHA").unwrap_or_else(|| "HEAD".into());
        if event == "pull_request" || event == "pull_request_target" {
            if let Some(base_ref) = get("GITHUB_BASE_REF") {
                return Ok(Detected {
                    base: format!("origin/{base_ref}"),
                    head: "HEAD".into(),
                    why: format!("GitHub pull request into {base_ref} (origin/{base_ref}..HEAD)"),
                });
            }
        }
        if let Some(path) = get("GITHUB_EVENT_PATH") {
            let text = read(&path).map_err(|e| Error::Event {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Event {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if let Some(base) = v.pointer("/pull_request/base/sha").and_then(|b| b.as_str()) {
                return Ok(Detected {
                    base: base.into(),
                    head,
                    why: "GitHub pull request (event base sha..GITHUB_SHA)".into(),
                });
            }
            let before = v.get("before").and_then(|b| b.as_str()).unwrap_or_default();
            let after = v
                .get("after")
                .and_then(|b| b.as_str())
                .map(str::to_string)
                .unwrap_or(head);
            return Ok(if is_zero(before) {
                Detected {
                    base: after.clone(),
                    head: after,
                    why: "GitHub push without a previous commit: scanning the pushed commit alone"
                        .into(),
                }
            } else {
                Detected {
                    base: before.into(),
                    head: after,
                    why: "GitHub push (event before..after)".into(),
                }
            });
        }
    }
    Err(Error::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(vars: &[(&str, &str)], event: &str) -> Result<Detected, Error> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ev = event.to_string();
        detect_range(|k| m.get(k).cloned(), move |_| Ok(ev.clone()))
    }

    #[test]
    fn github_pull_request_uses_base_ref() {
        let d = run(
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_BASE_REF", "main"),
            ],
            "",
        )
        .unwrap();
        assert_eq!((d.base.as_str(), d.head.as_str()), ("origin/main", "HEAD"));
    }

    #[test]
    fn github_push_uses_before_after_and_new_branch_scans_one_commit() {
        let vars = [
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", "/e.json"),
            ("GITHUB_SHA", "bbb"),
        ];
        let d = run(&vars, r#"{"before":"aaa","after":"bbb"}"#).unwrap();
        assert_eq!((d.base.as_str(), d.head.as_str()), ("aaa", "bbb"));
        let d = run(&vars, &format!(r#"{{"before":"{ZERO}","after":"bbb"}}"#)).unwrap();
        assert_eq!((d.base.as_str(), d.head.as_str()), ("bbb", "bbb"));
    }

    #[test]
    fn gitlab_merge_request_and_push() {
        let d = run(
            &[
                ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "aaa"),
                ("CI_COMMIT_SHA", "bbb"),
            ],
            "",
        )
        .unwrap();
        assert_eq!((d.base.as_str(), d.head.as_str()), ("aaa", "bbb"));
        let d = run(
            &[
                ("GITLAB_CI", "true"),
                ("CI_COMMIT_BEFORE_SHA", ZERO),
                ("CI_COMMIT_SHA", "bbb"),
            ],
            "",
        )
        .unwrap();
        assert_eq!(d.base, "bbb");
    }

    #[test]
    fn nothing_detected_is_an_error() {
        assert!(matches!(run(&[], ""), Err(Error::NotFound)));
    }
}

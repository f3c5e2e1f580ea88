#!/usr/bin/env python3
"""Compare a preflight JSON report with make_corpus.py's ground truth.

usage: recall.py CORPUS.secrets.json REPORT.json [--tree]
  --tree: the report is a working-tree scan (only secrets in HEAD's tree count).
Prints missed planted secrets, findings that are not planted secrets, and
history findings whose introducing commit differs from the ground truth.
"""
import json, sys

truth = json.load(open(sys.argv[1]))["secrets"]
report = json.load(open(sys.argv[2]))
tree_only = "--tree" in sys.argv

values = {}
for s in truth:
    for v in [s["value"]] + s.get("extra_values", []):
        values.setdefault(v, []).append(s)

def planted(secret_value):
    # A key embedded in JSON holds "\n" escapes where the planted value has newlines.
    secret_value = secret_value.replace("\\n", "\n")
    for v in values:
        if secret_value and (secret_value in v or v in secret_value):
            return values[v]
    return None

found_ids, false_pos, wrong_commit = set(), [], []
for f in report["findings"]:
    sv = f.get("secret_value") or ""
    hits = planted(sv)
    if not hits:
        false_pos.append((f["rule_id"], f["locations"][0]["path"], f["locations"][0]["start"]["line"], sv[:60]))
        continue
    for s in hits:
        found_ids.add(s["id"])
        for loc in f["locations"]:
            p = loc["provenance"]
            if p.get("source") == "git" and loc["path"] == s["path"] and s.get("blob_added"):
                pass
        commits = {loc["provenance"].get("commit") for loc in f["locations"] if loc["provenance"].get("source") == "git"}
        if commits and s["commit_added"] not in commits:
            wrong_commit.append((s["id"], s["kind"], s["commit_added"][:10], sorted(c[:10] for c in commits)))

expected = [s for s in truth if (s["in_head"] if tree_only else True)]
missed = [s for s in expected if s["id"] not in found_ids]
print(f"planted: {len(expected)}  found: {len(expected) - len(missed)}  missed: {len(missed)}  "
      f"non-planted findings: {len(false_pos)}  wrong introducing commit: {len(wrong_commit)}")
for s in missed:
    print("MISSED", s["id"], s["kind"], s["path"], s["line"], s["value"][:70], "long_line" if s["long_line"] else "")
for fp in false_pos:
    print("EXTRA", *fp)
for w in wrong_commit:
    print("COMMIT", *w)

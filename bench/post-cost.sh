#!/bin/bash
# Instructions per message of isend/irecv/waitall in steady state, counted by callgrind:
# bench/post-cost-window.mjs run for 200 and for 1200 windows, the difference divided by the
# 1000 extra windows x 64 messages (each message is one irecv, one isend and their share of
# waitall). With --profile, the functions that make up the difference. A count does not
# depend on the machine's load. Needs valgrind and a build (npm run build).
#   bench/post-cost.sh [--profile]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() {
  N=$1 valgrind --tool=callgrind --callgrind-out-file="$out/cg-$1.out" --smc-check=all-non-file \
    node "$here/post-cost-window.mjs" 2>&1 | awk '/Collected/ { print $4 }'
}
a=$(run 200)
b=$(run 1200)
echo "instructions per message (irecv + isend + waitall share): $(((b - a) / (1000 * 64)))"
[[ ${1:-} == --profile ]] || exit 0
for n in 200 1200; do
  callgrind_annotate --threshold=100 "$out/cg-$n.out" 2>/dev/null |
    sed -nE 's/^ *([0-9,]+) \([ 0-9.]+%\) +(.*)$/\1\t\2/p' | tr -d ',' > "$out/cg-$n.tsv"
done
python3 - "$out/cg-200.tsv" "$out/cg-1200.tsv" <<'PY'
import sys
def load(f):
    d = {}
    for line in open(f):
        v, k = line.rstrip('\n').split('\t', 1)
        if k.startswith('PROGRAM TOTALS'): continue
        k = k.split(' [')[0]
        d[k] = d.get(k, 0) + int(v)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
rows = sorted(((b.get(k, 0) - a.get(k, 0)) / 64000, k) for k in set(a) | set(b))
for x, k in reversed(rows[-40:]):
    print(f"{x:8.0f}  {k[:150]}")
PY

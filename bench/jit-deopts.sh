#!/bin/bash
# How much optimizing V8 does in a fresh 2-rank job of bench/first-messages-rank.ts, both
# ranks together: optimized compiles and deoptimizations ("bailouts"), and with --sites where
# each deoptimization happened. A count, not a time: it means the same on a loaded machine.
#   bench/jit-deopts.sh [--sites] [MODE SIZE]...      (default: pingpong 8  window 64  first 8)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
sites=0
if [[ ${1:-} == --sites ]]; then sites=1; shift; fi
[[ $# -gt 0 ]] || set -- pingpong 8 window 64 first 8
cli=("$repo/dist/launcher/cli.js")
[[ -f ${cli[0]} ]] || cli=(--import tsx "$repo/launcher/cli.ts")
while [[ $# -ge 2 ]]; do
  mode=$1 size=$2
  shift 2
  if ((sites)); then
    JIT_TRACE_FLAGS=--trace-deopt-verbose node "${cli[@]}" -np 2 "$here/first-messages-traced.ts" "$mode" "$size" 2>&1 |
      grep -E 'bailout \(kind|;;; deoptimize at' |
      sed -E 's/.*reason: ([^)]*)\).*deoptimizing [^<]*<JSFunction ([^ ]*) .*/\2: \1/; s/.*deoptimize at <([^>]*)>.*/    at \1/; s|file://[^ ]*/bundles/[0-9a-f]+||' |
      sed "s|^|$mode $size: |"
  else
    node "${cli[@]}" -np 2 "$here/first-messages-traced.ts" "$mode" "$size" 2>&1 |
      awk -v what="$mode $size" '/bailout \(kind/ { d++ } /completed compiling/ { c++ }
        END { printf "%-12s optimized compiles %3d, deoptimizations %3d\n", what, c, d }'
  fi
done

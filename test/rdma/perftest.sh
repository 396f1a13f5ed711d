#!/bin/bash
# Runs one perftest benchmark (ib_send_lat, ib_read_bw, ...) between two ends on rxe0, inside
# a guest of test/rdma/vm-run.sh, and prints the client's report.
#   test/rdma/perftest.sh [--server-on HOST] TOOL [PERFTEST ARGS...]
# Without --server-on both ends run in this guest (loopback through rxe); with it the server
# runs on HOST over ssh (-F $ZCMPI_TEST_SSH_CONFIG) and the client here connects to it.
# GID index 1 is the IPv4-mapped RoCE v2 entry (0 is the link-local one).
set -euo pipefail
server_host=
if [[ ${1:-} == --server-on ]]; then
  server_host=$2
  shift 2
fi
[[ $# -ge 1 ]] || { echo "usage: test/rdma/perftest.sh [--server-on HOST] TOOL [ARGS...]" >&2; exit 2; }
tool=$1
shift
port=$((18515 + RANDOM % 1000))
common=(-d rxe0 -x 1 -p "$port" "$@")

log=$(mktemp)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2> /dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

listening() {
  if [[ -n $server_host ]]; then
    ssh -F "$ZCMPI_TEST_SSH_CONFIG" "$server_host" "ss -Hltn sport = :$port" 2> /dev/null | grep -q .
  else
    ss -Hltn "sport = :$port" | grep -q .
  fi
}
if [[ -n $server_host ]]; then
  # The server ends with the client's run; ssh ends with it.
  ssh -F "$ZCMPI_TEST_SSH_CONFIG" "$server_host" "$tool $(printf '%q ' "${common[@]}")" > "$log" 2>&1 &
  target=$server_host
else
  "$tool" "${common[@]}" > "$log" 2>&1 &
  target=127.0.0.1
fi
server_pid=$!
for _ in $(seq 1 300); do
  listening && break
  kill -0 "$server_pid" 2> /dev/null || { echo "perftest: $tool server ended early:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
"$tool" "${common[@]}" "$target"
wait "$server_pid" || { echo "perftest: $tool server failed:" >&2; cat "$log" >&2; exit 1; }
server_pid=

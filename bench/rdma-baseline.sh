#!/bin/bash
# The RDMA baseline of the issue's ratio targets: perftest on the Soft-RoCE device of one
# guest boot (test/rdma/vm-run.sh), both ends in the guest (rxe loopback, MTU 9000):
#   ib_read_bw 1 MiB (MB/s, average)   and   ib_send_lat 2 B (us, typical = median)
# Usage: bench/rdma-baseline.sh [ITERATIONS_BW] [ITERATIONS_LAT]   (default 500 and 2000)
# Run on the host it boots a guest and runs itself there; zcmpi's own figures belong in the
# same boot (the VM's speed varies with the host's load), after these lines.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
if [[ ! -e /sys/class/infiniband/rxe0 ]]; then
  cd "$repo"
  exec test/rdma/vm-run.sh --timeout 600 "$here/rdma-baseline.sh" "$@"
fi
n_bw=${1:-500}
n_lat=${2:-2000}
[[ $n_bw =~ ^[0-9]+$ && $n_lat =~ ^[0-9]+$ ]] || { echo "usage: bench/rdma-baseline.sh [ITERATIONS_BW] [ITERATIONS_LAT]" >&2; exit 2; }
# The result row follows the header line of each report.
row() { awk -v h="$1" 'f && NF { print; exit } index($0, h) { f = 1 }'; }
bw=$("$repo/test/rdma/perftest.sh" ib_read_bw -s 1048576 -n "$n_bw" 2> /dev/null | row 'BW peak[MB/sec]')
lat=$("$repo/test/rdma/perftest.sh" ib_send_lat -s 2 -n "$n_lat" 2> /dev/null | row 't_min[usec]')
echo "ib_read_bw  1 MiB x $n_bw: $(echo "$bw" | awk '{ print $4 }') MB/s average (peak $(echo "$bw" | awk '{ print $3 }'))"
echo "ib_send_lat 2 B x $n_lat: $(echo "$lat" | awk '{ print $5 }') us typical (min $(echo "$lat" | awk '{ print $3 }'), avg $(echo "$lat" | awk '{ print $6 }'))"

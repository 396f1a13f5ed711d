#!/bin/bash
# Runs a command inside qemu guests that have a Soft-RoCE (rxe) device: the RDMA test bed of
# zcmpi's verbs transport on machines without RDMA hardware. See docs/rdma-vm.md.
#
#   test/rdma/vm-run.sh [--hosts N] [--timeout S] [--verbose] [--] COMMAND [ARGS...]
#
# COMMAND runs in guest 1 as root, in this working directory (shared read-write), with the
# host's root visible at the same paths under a writable tmpfs overlay, this environment's
# exported variables, stdin from /dev/null; its stdout, stderr and exit status come back.
# With --hosts 2 (or more) the guests share a virtual Ethernet (taps on a bridge in a private
# network namespace) and run sshd; the command sees
#   ZCMPI_TEST_HOSTS     rdma-vm1:2,rdma-vm2:2   (a zcmpirun --host list, 2 slots a guest)
#   ZCMPI_TEST_SSH_OPTS  the zcmpirun flags that reach them (user, key, known_hosts)
#   ZCMPI_TEST_SSH_CONFIG  an OpenSSH client config for the same (ssh -F FILE rdma-vm2 ...)
# Exit status: the command's; 124 when --timeout (default 900 s) ran out; 125 when the
# harness or a guest failed before the command could run (the reason goes to stderr).
set -euo pipefail

die() { echo "rdma-vm: $*" >&2; exit 125; }
usage() {
  echo "usage: test/rdma/vm-run.sh [--hosts N] [--timeout S] [--verbose] [--] COMMAND [ARGS...]" >&2
  exit 125
}

hosts=1
timeout_s=900
verbose=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --hosts) [[ $# -ge 2 ]] || usage; hosts=$2; shift 2 ;;
    --hosts=*) hosts=${1#*=}; shift ;;
    --timeout) [[ $# -ge 2 ]] || usage; timeout_s=$2; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --verbose) verbose=1; shift ;;
    --) shift; break ;;
    -*) die "unknown option $1 (expected --hosts N, --timeout S, --verbose, then the command)" ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || usage
[[ $hosts =~ ^[0-9]+$ && $hosts -ge 1 && $hosts -le 8 ]] || die "--hosts: expected a number of guests from 1 to 8, got '$hosts'"
[[ $timeout_s =~ ^[0-9]+$ && $timeout_s -ge 1 ]] || die "--timeout: expected a positive number of seconds, got '$timeout_s'"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cwd=$(pwd -P)
[[ $here != *[[:space:],]* ]] || die "the harness path may not contain blanks or commas: $here"
is_root=0
[[ $(id -u) == 0 ]] && is_root=1
[[ $hosts == 1 || $is_root == 1 ]] || die "--hosts $hosts needs root (network namespace and tap devices)"

# ---- Debian packages ---------------------------------------------------------------------
# Each package with a file that proves it is installed.
rxe_kernel() {
  local v
  for v in $(ls -1 /boot 2>/dev/null | sed -n 's/^vmlinuz-//p' | sort -V -r); do
    [[ -e /lib/modules/$v/kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko || -e /lib/modules/$v/kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko.xz ]] &&
      { echo "$v"; return 0; }
  done
  return 1
}
missing=()
need() { [[ -e $2 ]] || missing+=("$1"); }
need qemu-system-x86 /usr/bin/qemu-system-x86_64
need busybox-static /usr/share/doc/busybox-static
need rdma-core /usr/sbin/rdma-ndd
need ibverbs-providers /usr/share/doc/ibverbs-providers
need ibverbs-utils /usr/bin/ibv_devinfo
need perftest /usr/bin/ib_send_lat
need iproute2 /usr/bin/rdma
need openssh-server /usr/sbin/sshd
need openssh-client /usr/bin/ssh-keygen
need xz-utils /usr/bin/xz
need cpio /usr/bin/cpio
need kmod /usr/bin/kmod
rxe_kernel > /dev/null || missing+=(linux-image-amd64)
if [[ ${#missing[@]} -gt 0 ]]; then
  [[ $is_root == 1 ]] || die "missing Debian packages: ${missing[*]} (as root: apt-get install --no-install-recommends ${missing[*]})"
  echo "rdma-vm: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null 2>&1 ||
    { apt-get update > /dev/null 2>&1 || true; apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    die "apt-get install ${missing[*]} failed"
fi
kver=$(rxe_kernel) || die "no installed kernel in /boot has the rdma_rxe module"

# ---- boot files, built once per kernel ------------------------------------------------------
cache=$repo/build/rdma-vm/$kver
mkdir -p "$cache"
(
  flock 9
  "$here/build-image.sh" "$kver" "$cache"
) 9> "$cache.lock" || die "building the guest image for $kver failed"

# ---- the run directory: job, config, keys, console logs, status ----------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/zcmpi-rdma-vm.XXXXXX") || die "cannot make a run directory in ${TMPDIR:-/tmp}"
[[ $run != *[[:space:],]* ]] || { rmdir "$run"; die "the run directory path may not contain blanks or commas: $run (set TMPDIR)"; }
netns=
qemu_pids=()
reader_pids=()
timer_pid=
cleanup() {
  local p
  trap - EXIT INT TERM HUP
  for p in "${qemu_pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  for p in "${qemu_pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
  done
  [[ -n $timer_pid ]] && kill "$timer_pid" 2> /dev/null || true
  # The readers end at end of file once qemu is gone; kill them if they have not.
  for p in "${reader_pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill "$p" 2> /dev/null || true
  done
  if [[ -n $netns ]]; then
    for p in $(ip netns pids "$netns" 2> /dev/null); do kill -KILL "$p" 2> /dev/null || true; done
    ip netns del "$netns" 2> /dev/null || true
  fi
  wait 2> /dev/null || true
  if [[ $verbose == 1 ]]; then
    for f in "$run"/console-*.log; do [[ -f $f ]] && { echo "---- $f" >&2; cat "$f" >&2; }; done
  fi
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# zcmpirun compiles TypeScript programs into a cache and starts remote ranks from there, as
# from the program itself: a directory every host must see (on a cluster, a shared home). The
# guests share it read-write with the host, at its path (and keep its bundles across runs).
# Where it is comes from the launcher itself, which reads ZCMPI_CACHE_DIR / XDG_CACHE_HOME.
zcmpi_cache=
if [[ -f $repo/dist/launcher/compile.js ]] && command -v node > /dev/null; then
  zcmpi_cache=$(cd "$cwd" && node -e 'import(process.argv[1]).then(m => process.stdout.write(m.cacheDir()))' \
    "$repo/dist/launcher/compile.js" 2> /dev/null) || zcmpi_cache=
  if [[ -n $zcmpi_cache ]]; then
    mkdir -p "$zcmpi_cache" 2> /dev/null && [[ $zcmpi_cache != *[[:space:]]* ]] || zcmpi_cache=
  fi
fi

net_prefix=10.55.0
name_prefix=rdma-vm
mtu=9000
{
  printf 'cwd=%q\nzcmpi_cache=%q\n' "$cwd" "$zcmpi_cache"
  printf 'prefetch=%q\n' "$(readlink -f "$(command -v node)" 2> /dev/null || true)"
  printf 'hosts=%d\nmtu=%d\nnet_prefix=%s\nname_prefix=%s\npeer_wait_s=%d\n' "$hosts" "$mtu" "$net_prefix" "$name_prefix" 120
} > "$run/config"

host_list=
for ((i = 1; i <= hosts; i++)); do host_list+="${host_list:+,}$name_prefix$i:2"; done

# The job: this shell's exported variables (those with shell-safe names), then the command.
{
  while IFS= read -r var; do
    case $var in BASHOPTS | SHELLOPTS | BASH_* | PWD | OLDPWD | SHLVL | _) continue ;; esac
    printf 'export %s=%q\n' "$var" "${!var}"
  done < <(compgen -e)
  if [[ $hosts -gt 1 ]]; then
    printf 'export ZCMPI_TEST_HOSTS=%q\n' "$host_list"
    printf 'export ZCMPI_TEST_SSH_OPTS=%q\n' "--ssh-user root --ssh-key $run/id_ed25519 --ssh-known-hosts $run/known_hosts --no-ssh-agent"
    printf 'export ZCMPI_TEST_SSH_CONFIG=%q\n' "$run/ssh_config"
  fi
  printf 'ulimit -l unlimited\n'
  printf 'ulimit -n %d 2>/dev/null || true\n' "$(ulimit -n)"
  printf 'cd -- %q || exit 125\n' "$cwd"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} > "$run/job.sh"

if [[ $hosts -gt 1 ]]; then
  ssh-keygen -q -t ed25519 -N '' -C zcmpi-rdma-vm -f "$run/id_ed25519"
  cp "$run/id_ed25519.pub" "$run/authorized_keys"
  : > "$run/known_hosts"
  for ((i = 1; i <= hosts; i++)); do
    ssh-keygen -q -t ed25519 -N '' -C "$name_prefix$i" -f "$run/host_key_$i"
    echo "$name_prefix$i,$net_prefix.$i $(cut -d' ' -f1,2 "$run/host_key_$i.pub")" >> "$run/known_hosts"
  done
  cat > "$run/sshd_config" << EOF
Port 22
AuthorizedKeysFile $run/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PidFile none
PrintMotd no
PrintLastLog no
MaxSessions 64
MaxStartups 64
KexAlgorithms curve25519-sha256
EOF
  cat > "$run/ssh_config" << EOF
Host *
  User root
  IdentityFile $run/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $run/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  KexAlgorithms curve25519-sha256
  ConnectTimeout 30
EOF
fi

# ---- the virtual network ------------------------------------------------------------------
if [[ $hosts -gt 1 ]]; then
  # Leftovers of runs that were killed outright (their owner pid is gone).
  for ns in $(ip netns list 2> /dev/null | sed -n 's/^\(zcrvm-[0-9]*\).*/\1/p'); do
    kill -0 "${ns#zcrvm-}" 2> /dev/null && continue
    for p in $(ip netns pids "$ns" 2> /dev/null); do kill -KILL "$p" 2> /dev/null || true; done
    ip netns del "$ns" 2> /dev/null || true
  done
  netns=zcrvm-$$
  ip netns add "$netns" || die "ip netns add $netns failed"
  ip -n "$netns" link add br0 type bridge
  ip -n "$netns" link set br0 mtu "$mtu" up
  for ((i = 1; i <= hosts; i++)); do
    ip -n "$netns" tuntap add dev "tap$i" mode tap
    ip -n "$netns" link set "tap$i" master br0 mtu "$mtu" up
  done
fi

# ---- the guests ----------------------------------------------------------------------------
# The kernel's own messages reach the console logs only with --verbose (serial output is slow under TCG).
kernel_log='quiet loglevel=4'
[[ $verbose == 1 ]] && kernel_log='loglevel=7'
# The qemu command line of guest $1, into the array args.
qemu_args() {
  local i=$1
  args=(-name "$name_prefix$i" -nodefaults -no-user-config -display none -no-reboot
    -accel tcg,thread=multi -cpu max,-erms,-fsrm -smp 2 -m 2048
    -kernel "$cache/vmlinux" -initrd "$cache/initramfs.cpio"
    -append "console=ttyS0 $kernel_log panic=-1 tsc=reliable no_timer_check cryptomgr.notests rodata=off mitigations=off rdinit=/init zcmpi.init=$here/guest-init.sh zcmpi.run=$run zcmpi.host=$i"
    -serial "file:$run/console-$i.log"
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
    -virtfs "local,path=$run,mount_tag=run,security_model=none,multidevs=remap"
    -virtfs "local,path=${cwd//,/,,},mount_tag=cwd,security_model=none,multidevs=remap")
  [[ -n $zcmpi_cache ]] &&
    args+=(-virtfs "local,path=${zcmpi_cache//,/,,},mount_tag=zcache,security_model=none,multidevs=remap")
  local mac
  mac=$(printf '52:54:00:55:00:%02x' "$i")
  if [[ $hosts -gt 1 ]]; then
    args+=(-netdev "tap,id=n0,ifname=tap$i,script=no,downscript=no"
      -device "virtio-net-pci,netdev=n0,mac=$mac,rx_queue_size=1024")
  else
    args+=(-netdev hubport,id=n0,hubid=0 -device "virtio-net-pci,netdev=n0,mac=$mac")
  fi
  if [[ $i == 1 ]]; then
    args+=(-device virtio-serial-pci,id=vs
      -chardev "pipe,id=out,path=$run/stdout" -device virtserialport,bus=vs.0,nr=1,chardev=out,name=zcmpi.stdout
      -chardev "pipe,id=err,path=$run/stderr" -device virtserialport,bus=vs.0,nr=2,chardev=err,name=zcmpi.stderr)
  fi
}
for s in stdout stderr; do mkfifo "$run/$s.in" "$run/$s.out"; done
# qemu opens the fifos read-write, so neither side blocks; the readers end when qemu exits.
cat "$run/stdout.out" &
reader_pids+=($!)
cat "$run/stderr.out" >&2 &
reader_pids+=($!)

started=$(date +%s%N)
for ((i = 1; i <= hosts; i++)); do
  qemu_args "$i"
  if [[ -n $netns ]]; then
    ip netns exec "$netns" qemu-system-x86_64 "${args[@]}" > "$run/qemu-$i.log" 2>&1 < /dev/null &
  else
    qemu-system-x86_64 "${args[@]}" > "$run/qemu-$i.log" 2>&1 < /dev/null &
  fi
  qemu_pids+=($!)
done

sleep "$timeout_s" &
timer_pid=$!
wait -n "${qemu_pids[0]}" "$timer_pid" || true
if kill -0 "${qemu_pids[0]}" 2> /dev/null; then
  echo "rdma-vm: timed out after ${timeout_s}s (--timeout); guests stopped" >&2
  exit 124
fi
kill "$timer_pid" 2> /dev/null || true
timer_pid=
wait "${reader_pids[@]}" 2> /dev/null || true
if [[ $verbose == 1 ]]; then
  ms=$((($(date +%s%N) - started) / 1000000))
  printf 'rdma-vm: guest 1 ran for %d.%03ds (boot and command)\n' $((ms / 1000)) $((ms % 1000)) >&2
fi
# A harness failure (no status, or 125 from a guest's setup): the end of every console log.
if [[ ! -f $run/status || $(cat "$run/status") == 125 && -n $(ls "$run"/failed-* 2> /dev/null) ]]; then
  for ((i = 1; i <= hosts; i++)); do
    echo "rdma-vm: ---- guest $i console (end) and qemu output:"
    tail -n 25 "$run/console-$i.log" 2> /dev/null || true
    tail -n 5 "$run/qemu-$i.log" 2> /dev/null || true
  done >&2
fi
if [[ -f $run/status ]]; then
  status=$(cat "$run/status")
  [[ $status =~ ^[0-9]+$ ]] || die "guest 1 reported a bad status '$status'"
  exit "$status"
fi
{
  echo "rdma-vm: guest 1 ended without reporting the command's status"
} >&2
exit 125

#!/bin/busybox sh
# PID 1 of a Soft-RoCE guest started by test/rdma/vm-run.sh (run by the initramfs's /init
# with busybox sh, after the modules are loaded and the host root is mounted read-only at
# /host). It builds the guest's root, brings up eth0 and rxe0, starts sshd when there are
# several guests, and on guest 1 runs the job; then it powers the guest off.
# The kernel command line names the run directory (zcmpi.run=) and this guest (zcmpi.host=);
# the host wrote the rest into $run/config.
run=
me=
for w in $(cat /proc/cmdline); do
  case $w in
    zcmpi.run=*) run=${w#zcmpi.run=} ;;
    zcmpi.host=*) me=${w#zcmpi.host=} ;;
  esac
done

log() { echo "rdma-vm[$me] $(cut -d' ' -f1 /proc/uptime)s $*" > /dev/ttyS0; }
# A setup failure: say why on the job's stderr (when there is one) and end with status 125.
fail() {
  log "FAILED: $*"
  [ -n "$err_port" ] && echo "rdma-vm: guest $me: $*" > "$err_port"
  # Guest 1 waits for the others' ready files: a failed peer says so instead.
  [ -f "/newroot$run/config" ] && echo "$*" > "/newroot$run/failed-$me"
  [ "$me" = 1 ] && [ -f "/newroot$run/config" ] && echo 125 > "/newroot$run/status"
  finish
}
finish() {
  sync
  reboot -f
  sleep 60
}
log "init started"

err_port=
out_port=
for d in /sys/class/virtio-ports/*; do
  [ -f "$d/name" ] || continue
  case $(cat "$d/name") in
    zcmpi.stdout) out_port=/dev/${d##*/} ;;
    zcmpi.stderr) err_port=/dev/${d##*/} ;;
  esac
done

# The root: the host's, read-only, under a tmpfs overlay (writes stay in this guest).
mkdir -p /upper /newroot
mount -t tmpfs -o mode=755 upper /upper && mkdir -p /upper/u /upper/w || fail "tmpfs for the overlay"
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w /newroot || fail "overlay on the host root"
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
mount -t tmpfs -o mode=755 run /newroot/run

# The run directory (config, job, keys, status) and the working directory, read-write, at
# the host's paths. cache=mmap: no caching, but shared writable mappings work.
p9='trans=virtio,version=9p2000.L,msize=512000'
mkdir -p "/newroot$run"
mount -t 9p -o "$p9" run "/newroot$run" || fail "mount of the run directory $run"
[ -f "/newroot$run/config" ] || fail "no $run/config"
. "/newroot$run/config"
if [ "$cwd" != / ]; then
  mkdir -p "/newroot$cwd"
  mount -t 9p -o "$p9,cache=mmap" cwd "/newroot$cwd" || fail "mount of the working directory $cwd"
fi
# zcmpirun's compile cache, which every host must see (vm-run.sh says why).
if [ -n "$zcmpi_cache" ]; then
  mkdir -p "/newroot$zcmpi_cache"
  mount -t 9p -o "$p9,cache=mmap" zcache "/newroot$zcmpi_cache" || fail "mount of zcmpirun's cache $zcmpi_cache"
fi
# The run directory again, over a path the mounts above may have hidden.
case $run in "$cwd"/* | "${zcmpi_cache:-/nonexistent}"/*) mount -t 9p -o "$p9" run "/newroot$run" ;; esac
log "filesystems mounted"
# Read node's 98 MB binary ahead, in big sequential 9p reads, while the rest is set up: on
# first use page faults would fetch it piecemeal (19 s instead of 2 s under a loaded host).
for f in $prefetch; do cat "/newroot$f" > /dev/null 2>&1 & done

# What the host's root would do wrong here: its .bashrc (pyenv init: 7-11 s per ssh
# command), its resolver (no DNS here), its host name.
for f in /newroot/root/.bashrc /newroot/etc/resolv.conf /newroot/etc/hostname /newroot/etc/hosts; do rm -f "$f"; done
: > /newroot/root/.bashrc
: > /newroot/etc/resolv.conf
echo "$name_prefix$me" > /newroot/etc/hostname
hostname "$name_prefix$me"
{
  echo "127.0.0.1 localhost"
  echo "::1 localhost ip6-localhost ip6-loopback"
  i=1
  while [ "$i" -le "$hosts" ]; do echo "$net_prefix.$i $name_prefix$i"; i=$((i + 1)); done
} > /newroot/etc/hosts
# Any module the guest asks for later comes from the host's /lib/modules (same kernel).
echo /sbin/modprobe-host > /proc/sys/kernel/modprobe
# Registered memory is pinned memory: no limit (inherited by sshd and its sessions).
ulimit -l unlimited

# Network: eth0 with this guest's address and no default route; rxe0 on top of it.
ip link set lo up
ip link set eth0 mtu "$mtu" up || fail "eth0 (virtio-net) missing"
ip addr add "$net_prefix.$me/24" dev eth0
chroot /newroot /usr/bin/rdma link add rxe0 type rxe netdev eth0 || fail "rdma link add rxe0 type rxe netdev eth0"
# rdma_cm and umad for tools that use them (ib_send_lat -R, ibstat); not needed for verbs.
( chroot /newroot /sbin/modprobe -a rdma_ucm ib_umad || log "modprobe rdma_ucm ib_umad failed" ) &
extra_modules=$!
log "rxe0 added"

if [ "$hosts" -gt 1 ]; then
  mkdir -p /newroot/run/sshd
  chroot /newroot /usr/sbin/sshd -f "$run/sshd_config" -h "$run/host_key_$me" \
    -o "ListenAddress=$net_prefix.$me" -E "$run/sshd-$me.log" || fail "sshd did not start (see $run/sshd-$me.log)"
  log "sshd started"
fi
wait "$extra_modules"
: > "/newroot$run/ready-$me"

if [ "$me" != 1 ]; then
  # A peer: serve ssh until guest 1's job is done (the host then stops this guest).
  while [ ! -f "/newroot$run/status" ]; do sleep 1; done
  finish
fi

uptime_s() { cut -d. -f1 /proc/uptime; }
deadline=$(($(uptime_s) + peer_wait_s))
i=2
while [ "$i" -le "$hosts" ]; do
  while [ ! -f "/newroot$run/ready-$i" ]; do
    [ -f "/newroot$run/failed-$i" ] && fail "guest $i failed: $(cat "/newroot$run/failed-$i")"
    [ "$(uptime_s)" -ge "$deadline" ] && fail "guest $i not ready ${peer_wait_s}s after this one was"
    sleep 0.2
  done
  i=$((i + 1))
done
log "job starting"
chroot /newroot /bin/bash "$run/job.sh" < /dev/null > "${out_port:-/dev/ttyS0}" 2> "${err_port:-/dev/ttyS0}"
status=$?
log "job ended with status $status"
echo "$status" > "/newroot$run/status"
finish

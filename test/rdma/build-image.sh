#!/bin/bash
# Builds the boot files of the Soft-RoCE guest for one Debian kernel into a cache directory:
#   vmlinux          the uncompressed kernel (booted through qemu's PVH entry: under TCG,
#                    unpacking the XZ-compressed bzImage costs ~6 s of every boot)
#   initramfs.cpio   busybox-static, the modules needed to reach the host's root over 9p and
#                    to run rxe, and a tiny /init that mounts the host root and hands over to
#                    test/rdma/guest-init.sh (read from the host, so changing it needs no rebuild)
#   stamp            the hash of this script: a cache built by another version is rebuilt
# Usage: build-image.sh KERNEL_VERSION CACHE_DIR
set -euo pipefail
kver=$1
out=$2
self_hash=$(sha256sum "$0" | cut -c1-16)
if [[ -f $out/stamp && $(cat "$out/stamp") == "$self_hash" && -f $out/vmlinux && -f $out/initramfs.cpio ]]; then
  exit 0
fi

vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[[ -r $vmlinuz ]] || { echo "rdma-vm: $vmlinuz not found (apt-get install linux-image-amd64)" >&2; exit 1; }
[[ -d $moddir ]] || { echo "rdma-vm: $moddir not found" >&2; exit 1; }
[[ -x /bin/busybox ]] && ! ldd /bin/busybox > /dev/null 2>&1 ||
  { echo "rdma-vm: /bin/busybox is not busybox-static (apt-get install busybox-static)" >&2; exit 1; }

mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# vmlinux: the bzImage carries an XZ stream (magic FD 37 7A 58 5A 00); xz stops at the end
# of the stream and complains about the padding after it, which is expected.
offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
[[ -n $offset ]] || { echo "rdma-vm: no XZ stream in $vmlinuz" >&2; exit 1; }
tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc > "$tmp/vmlinux" 2>/dev/null || true
[[ $(head -c 4 "$tmp/vmlinux" | od -An -c | tr -d ' ') == '177ELF' ]] ||
  { echo "rdma-vm: could not extract an ELF vmlinux from $vmlinuz" >&2; exit 1; }

# Modules in load order (each with its dependencies first, as modprobe resolves them).
# crc32_generic is not a declared dependency of rdma_rxe, yet rxe asks the crypto layer for
# crc32 at `rdma link add` time and fails without it. virtio_console carries the job's
# stdout/stderr back to the host.
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  9pnet 9pnet_virtio netfs fscache 9p overlay failover net_failover virtio_net
  udp_tunnel ip6_udp_tunnel ib_core ib_uverbs crc32_generic rdma_rxe virtio_console)
root=$tmp/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,host,lib/modules}
cp /bin/busybox "$root/bin/busybox"
: > "$tmp/order"
for m in "${modules[@]}"; do
  while read -r verb path _; do
    [[ $verb == insmod ]] || continue
    grep -qxF "$path" "$tmp/order" || echo "$path" >> "$tmp/order"
  done < <(modprobe -S "$kver" --show-depends "$m")
done
# Debian signs its modules and the kernel checks every signature it finds (hash + RSA): under
# TCG that costs ~0.25 s per MiB of module, so the copies here have their signature cut off
# (layout: module, signature, 12-byte struct module_signature ending in the big-endian
# signature length, the marker). The kernel does not enforce signatures (no
# CONFIG_MODULE_SIG_FORCE); it only notes the unsigned module in its taint flags.
marker='~Module signature appended~'
strip_signature() {
  local f=$1 size siglen
  size=$(stat -c %s "$f")
  [[ $size -gt 40 && $(tail -c 28 "$f" | head -c 27) == "$marker" ]] || return 0
  siglen=$((16#$(tail -c 32 "$f" | head -c 4 | od -An -tx1 | tr -d ' \n')))
  truncate -s $((size - 28 - 12 - siglen)) "$f"
}
i=0
while read -r path; do
  name=$(printf '%02d-%s' "$i" "$(basename "$path")")
  case $path in
    *.ko) cp "$path" "$root/lib/modules/$name" ;;
    *.ko.xz) name=${name%.xz}; xz -dc "$path" > "$root/lib/modules/$name" ;;
    *.ko.zst) name=${name%.zst}; zstd -qdc "$path" > "$root/lib/modules/$name" ;;
    *) echo "rdma-vm: unexpected module file $path" >&2; exit 1 ;;
  esac
  strip_signature "$root/lib/modules/$name"
  i=$((i + 1))
done < "$tmp/order"

# Module requests of the running guest (other modules on demand) go to the host's modprobe,
# run inside the guest's root: the host root has /lib/modules of this kernel.
cat > "$root/sbin/modprobe-host" <<'EOF'
#!/bin/busybox sh
exec /bin/busybox chroot /newroot /sbin/modprobe "$@"
EOF

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /lib/modules/*.ko; do insmod "$m" || echo "rdma-vm: insmod $m failed" > /dev/ttyS0; done
guest_init=
for w in $(cat /proc/cmdline); do case $w in zcmpi.init=*) guest_init=${w#zcmpi.init=} ;; esac; done
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host &&
   [ -f "/host$guest_init" ]; then
  exec /bin/sh "/host$guest_init"
fi
echo "rdma-vm: cannot mount the host root or find zcmpi.init=$guest_init" > /dev/ttyS0
reboot -f
EOF
chmod 755 "$root/init" "$root/sbin/modprobe-host"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$tmp/initramfs.cpio"
mv "$tmp/vmlinux" "$out/vmlinux"
mv "$tmp/initramfs.cpio" "$out/initramfs.cpio"
echo "$self_hash" > "$out/stamp"

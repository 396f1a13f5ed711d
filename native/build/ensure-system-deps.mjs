#!/usr/bin/env node
// Runs first in `npm install`: the addon needs UCX and libibverbs headers, cmake and a C++
// compiler, and the test suite needs sshd and iproute2, and for the Soft-RoCE guests of
// test/rdma/vm-run.sh qemu, a Debian kernel, busybox-static and rdma-core's tools. As root we install what is missing from
// Debian; otherwise we stop with the exact command to run.
import { existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';

/** Debian package -> a file that proves it is installed. */
const needed = {
  'libucx-dev': '/usr/include/ucp/api/ucp.h',
  'ucx-utils': '/usr/bin/ucx_info',
  'libibverbs-dev': '/usr/include/infiniband/verbs.h',
  'cmake': '/usr/bin/cmake',
  'g++': '/usr/bin/g++',
  'make': '/usr/bin/make',
  'pkg-config': '/usr/bin/pkg-config',
  'openssh-server': '/usr/sbin/sshd',
  'openssh-client': '/usr/bin/ssh-keygen',
  'iproute2': '/usr/sbin/ip',
  'procps': '/usr/bin/pgrep',
  'qemu-system-x86': '/usr/bin/qemu-system-x86_64',
  'linux-image-amd64': '/usr/share/doc/linux-image-amd64',
  'busybox-static': '/usr/share/doc/busybox-static',
  'rdma-core': '/usr/sbin/rdma-ndd',
  'ibverbs-providers': '/usr/share/doc/ibverbs-providers',
  'ibverbs-utils': '/usr/bin/ibv_devinfo',
  'perftest': '/usr/bin/ib_send_lat',
  'xz-utils': '/usr/bin/xz',
  'cpio': '/usr/bin/cpio',
  'kmod': '/usr/bin/kmod',
};

if (process.env.ZCMPI_SKIP_SYSTEM_DEPS === '1') process.exit(0);
const missing = Object.entries(needed).filter(([, f]) => !existsSync(f)).map(([p]) => p);
if (missing.length === 0) process.exit(0);

const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`zcmpi: missing Debian packages: ${missing.join(', ')}`);
  console.error(`zcmpi: install them, then run npm install again:\n  sudo apt-get update && sudo ${line}`);
  process.exit(1);
}
console.error(`zcmpi: installing Debian packages: ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const upd = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
if (upd.status !== 0) console.error('zcmpi: apt-get update failed; trying the install anyway');
execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });

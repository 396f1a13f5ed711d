// Test harness: a small "cluster" of SSH hosts on this machine.
//
// N network namespaces joined by a bridge (host side 10.77.K.1/24, hosts 10.77.K.11, .12,
// ...), each running Debian's sshd on its own address with a generated host key, one
// generated user key authorised for root. All namespaces share this machine's
// filesystem and process table, which is the "shared filesystem" MPI assumes: the same
// node, program and zcmpi paths everywhere.
//
// Needs root, ip(8) with netns support and /usr/sbin/sshd; skipReason() says why not.
// Names carry the owning process id (namespaces zcmpi-PID-I, links zcbPID/zchPIDxI/
// zcnPIDxI), and each cluster takes a /24 by creating /run/zcmpi-netns/K atomically, so
// test files can run in parallel. Leftovers of crashed earlier runs (owner pid gone) are
// removed at setup; cleanup() removes everything, also after failures, and a process
// exit hook does the same when a test dies without calling it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, createWriteStream, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClusterHost {
  /** The name to give zcmpirun (the address: there is no DNS for these hosts). */
  name: string;
  addr: string;
  ns: string;
  /** `ssh-ed25519 AAAA...` */
  hostKeyPub: string;
  /** SHA256:... as ssh prints it. */
  hostKeyFingerprint: string;
  /** sshd log (stderr, -e). */
  logPath: string;
}

export interface ProcInfo {
  pid: number;
  cmdline: string;
}

export interface Cluster {
  hosts: ClusterHost[];
  /** Private key authorised for root on every host. */
  userKeyPath: string;
  /** known_hosts with every host's key (per the knownHosts option). */
  knownHostsPath: string;
  /** This machine's address on the bridge (what the hosts route to). */
  bridgeAddr: string;
  /** A free address on the bridge that no host answers (for unreachable-host tests). */
  deadAddr: string;
  /** Scratch directory of this cluster (removed by cleanup). */
  dir: string;
  /** Kill sshd and all its session processes in host i's namespace (SIGKILL). */
  stopHost(i: number): Promise<void>;
  /** Start sshd again in host i's namespace. */
  startHost(i: number): Promise<void>;
  /** Cut host i off the bridge (its link goes down: packets vanish, no RST): a partition. */
  unplug(i: number): void;
  /** Undo unplug(i). */
  plug(i: number): void;
  /** Bytes host i has sent and received over its link (counted on the bridge side). */
  linkBytes(i: number): { sent: number; received: number };
  /** Run a shell command inside host i's namespace. */
  runIn(i: number, cmd: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Processes in host i's namespace whose command line matches. */
  pgrepIn(i: number, pattern: RegExp | string): ProcInfo[];
  /** Processes in any host's namespace whose command line matches (host index added). */
  pgrepAll(pattern: RegExp | string): (ProcInfo & { host: number })[];
  /** Wait (polling) until no process in any namespace matches; returns what is left on timeout. */
  waitNoneLeft(pattern: RegExp | string, timeoutMs?: number): Promise<(ProcInfo & { host: number })[]>;
  /** Tear everything down (idempotent). */
  cleanup(): Promise<void>;
}

export interface ClusterOptions {
  hosts: number;
  /** known_hosts content: every host plain (default), every host hashed (|1|), or empty. */
  knownHosts?: 'plain' | 'hashed' | 'none';
  /** Extra sshd_config lines for every host (e.g. "MaxSessions 2"). */
  sshdConfig?: string[];
  /**
   * Directories that host i does not see (an empty tmpfs over them in sshd's mount
   * namespace): a host where a path of this machine is missing.
   */
  hide?: Record<number, string[]>;
}

const LOCK_ROOT = '/run/zcmpi-netns';
const SSHD = '/usr/sbin/sshd';

/** Why netns tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (ip netns, sshd)';
  if (!existsSync(SSHD)) return `${SSHD} not installed (apt-get install openssh-server)`;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
  } catch (e) {
    return `ip netns unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'pipe' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'ssh-keygen not installed (apt-get install openssh-client)';
  }
  return undefined;
}

function ip(args: string[], quiet = false): string {
  try {
    return execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });
  } catch (e) {
    if (quiet) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/**
 * A host firewall (e.g. Docker's FORWARD policy DROP with br_netfilter) may drop traffic
 * to and across our bridge: while a cluster exists, two ACCEPT rules for its bridge go
 * first in INPUT and FORWARD. Best effort: without iptables nothing is done.
 */
const FIREWALL_RULES = (bridge: string) => [
  ['INPUT', '-i', bridge, '-j', 'ACCEPT'],
  ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'],
];

function iptables(args: string[]): string | null {
  try {
    return execFileSync('iptables', ['-w', ...args], { stdio: 'pipe', encoding: 'utf8' });
  } catch {
    return null;
  }
}

function openFirewall(bridge: string): void {
  for (const [chain, ...rule] of FIREWALL_RULES(bridge)) iptables(['-I', chain, '1', ...rule]);
}

function closeFirewall(bridge: string): void {
  for (const [chain, ...rule] of FIREWALL_RULES(bridge)) iptables(['-D', chain, ...rule]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function nsPids(ns: string): number[] {
  return ip(['netns', 'pids', ns], true).split(/\s+/).filter(Boolean).map(Number);
}

function cmdlineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

function killNamespace(ns: string): void {
  for (let round = 0; round < 20; round++) {
    const pids = nsPids(ns);
    if (pids.length === 0) break;
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    execFileSync('sleep', ['0.05']);
  }
  ip(['netns', 'del', ns], true);
}

/** Removes namespaces, links and subnet locks whose owner process is gone. */
export function removeStale(): void {
  const nsList = ip(['netns', 'list'], true).split('\n').map(l => l.split(' ')[0]).filter(Boolean);
  for (const ns of nsList) {
    const m = /^zcmpi-(\d+)-\d+$/.exec(ns);
    if (m && !alive(Number(m[1]))) killNamespace(ns);
  }
  const links = ip(['-o', 'link', 'show'], true).split('\n');
  for (const l of links) {
    const m = /^\d+:\s+(zc[bhn](\d+)(x\d+)?)[@:]/.exec(l);
    if (m && !alive(Number(m[2]))) ip(['link', 'del', m[1]], true);
  }
  for (const line of (iptables(['-S']) ?? '').split('\n')) {
    const m = /^-A (\S+) (.*-i zcb(\d+)\b.*)$/.exec(line);
    if (m && !alive(Number(m[3]))) iptables(['-D', m[1], ...m[2].split(' ')]);
  }
  if (existsSync(LOCK_ROOT)) {
    for (const k of readdirSync(LOCK_ROOT)) {
      const dir = join(LOCK_ROOT, k);
      let owner = 0;
      try { owner = Number(readFileSync(join(dir, 'pid'), 'utf8')); } catch { /* half-made lock */ }
      if (owner === 0 || !alive(owner)) rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Takes a free 10.77.K.0/24 for this process. */
function takeSubnet(): number {
  mkdirSync(LOCK_ROOT, { recursive: true });
  for (let k = 1; k < 250; k++) {
    const dir = join(LOCK_ROOT, String(k));
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    writeFileSync(join(dir, 'pid'), String(process.pid));
    return k;
  }
  throw new Error(`no free subnet: ${LOCK_ROOT} has 249 locks`);
}

function waitTcp(addr: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect({ host: addr, port });
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', e => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`${addr}:${port} not reachable: ${e.message}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function hashedName(name: string): string {
  const salt = randomBytes(20);
  const h = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${h.toString('base64')}`;
}

function fingerprintOf(pubLine: string): string {
  const blob = Buffer.from(pubLine.split(/\s+/)[1], 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export async function createCluster(opts: ClusterOptions): Promise<Cluster> {
  const why = skipReason();
  if (why) throw new Error(`cannot build a netns cluster: ${why}`);
  if (opts.hosts < 1 || opts.hosts > 50) throw new Error('hosts: 1..50');
  removeStale();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const pid = process.pid;
  const k = takeSubnet();
  const dir = mkdtempSync(join(tmpdir(), `zcmpi-netns-${pid}-`));
  const bridge = `zcb${pid}`;
  const bridgeAddr = `10.77.${k}.1`;
  const hosts: ClusterHost[] = [];
  const sshds = new Map<number, ChildProcess>();
  let cleaned = false;

  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of sshds.values()) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
    for (let i = 0; i < opts.hosts; i++) {
      killNamespace(`zcmpi-${pid}-${i}`);
      // Deleting a namespace frees its links asynchronously: delete ours now, so the next
      // cluster of this process can reuse the names at once.
      ip(['link', 'del', `zch${pid}x${i}`], true);
    }
    ip(['link', 'del', bridge], true);
    closeFirewall(bridge);
    rmSync(join(LOCK_ROOT, String(k)), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanupSync);

  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'zcmpi-test-user', '-f', join(dir, 'user_key')], { stdio: 'pipe' });
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')));
    chmodSync(join(dir, 'authorized_keys'), 0o600);

    ip(['link', 'add', bridge, 'type', 'bridge']);
    ip(['addr', 'add', `${bridgeAddr}/24`, 'dev', bridge]);
    ip(['link', 'set', bridge, 'up']);
    openFirewall(bridge);

    for (let i = 0; i < opts.hosts; i++) {
      const ns = `zcmpi-${pid}-${i}`;
      const addr = `10.77.${k}.${11 + i}`;
      const vh = `zch${pid}x${i}`;
      const vn = `zcn${pid}x${i}`;
      ip(['netns', 'add', ns]);
      ip(['link', 'del', vh], true); // a previous cluster of this process, still going away
      ip(['link', 'add', vh, 'type', 'veth', 'peer', 'name', vn]);
      ip(['link', 'set', vn, 'netns', ns]);
      ip(['link', 'set', vh, 'master', bridge]);
      ip(['link', 'set', vh, 'up']);
      ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', vn]);
      ip(['-n', ns, 'link', 'set', vn, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'route', 'add', 'default', 'via', bridgeAddr]);
      const keyPath = join(dir, `host${i}_key`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `zcmpi-test-host${i}`, '-f', keyPath], { stdio: 'pipe' });
      const pub = readFileSync(`${keyPath}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
      // sshd keeps the first value of a keyword: the extra lines go first so they win.
      writeFileSync(join(dir, `sshd${i}.conf`), [
        ...(opts.sshdConfig ?? []),
        `ListenAddress ${addr}:22`,
        `HostKey ${keyPath}`,
        `PidFile ${join(dir, `sshd${i}.pid`)}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'UseDNS no',
        'PrintMotd no',
        'X11Forwarding no',
        'MaxStartups 100',
        'LogLevel VERBOSE',
        '',
      ].join('\n'));
      hosts.push({ name: addr, addr, ns, hostKeyPub: pub, hostKeyFingerprint: fingerprintOf(pub), logPath: join(dir, `sshd${i}.log`) });
    }

    const startSshd = async (i: number): Promise<void> => {
      const h = hosts[i];
      const sshdArgv = ['ip', 'netns', 'exec', h.ns, SSHD, '-D', '-e', '-f', join(dir, `sshd${i}.conf`)];
      const hidden = opts.hide?.[i] ?? [];
      const child = hidden.length === 0
        ? spawn(sshdArgv[0], sshdArgv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
        : spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c',
          'for d in "$@"; do case "$d" in --) shift; break;; esac; mount -t tmpfs zcmpi-hidden "$d" || exit 1; shift; done; exec "$@"',
          'sh', ...hidden, '--', ...sshdArgv], { stdio: ['ignore', 'ignore', 'pipe'] });
      sshds.set(i, child);
      const log = createWriteStream(h.logPath, { flags: 'a' });
      let text = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sshd in ${h.ns} did not start within 15 s: ${text.trim()}`)), 15000);
        child.stderr!.on('data', (d: Buffer) => {
          log.write(d);
          if (text.length < 65536) text += d.toString();
          if (/Server listening on/.test(text)) { clearTimeout(timer); resolve(); }
        });
        child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`sshd in ${h.ns} exited (${code ?? sig}): ${text.trim()}`)); });
      });
      child.removeAllListeners('exit');
      child.once('exit', () => { log.end(); if (sshds.get(i) === child) sshds.delete(i); });
      child.unref();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      await waitTcp(h.addr, 22, 15000);
    };
    await Promise.all(hosts.map((_, i) => startSshd(i)));

    const knownHostsPath = join(dir, 'known_hosts');
    const mode = opts.knownHosts ?? 'plain';
    writeFileSync(knownHostsPath, mode === 'none' ? '' : hosts.map(h => `${mode === 'hashed' ? hashedName(h.addr) : h.addr} ${h.hostKeyPub}\n`).join(''));

    const pgrepIn = (i: number, pattern: RegExp | string): ProcInfo[] => {
      const re = typeof pattern === 'string' ? new RegExp(pattern) : pattern;
      const out: ProcInfo[] = [];
      for (const p of nsPids(hosts[i].ns)) {
        const cmd = cmdlineOf(p);
        if (cmd !== null && re.test(cmd)) out.push({ pid: p, cmdline: cmd });
      }
      return out;
    };
    const pgrepAll = (pattern: RegExp | string) => hosts.flatMap((_, i) => pgrepIn(i, pattern).map(p => ({ ...p, host: i })));

    return {
      hosts,
      userKeyPath: join(dir, 'user_key'),
      knownHostsPath,
      bridgeAddr,
      deadAddr: `10.77.${k}.250`,
      dir,
      async stopHost(i) {
        const h = hosts[i];
        for (let round = 0; round < 50; round++) {
          const victims = nsPids(h.ns).filter(p => (cmdlineOf(p) ?? '').startsWith('sshd'));
          if (victims.length === 0) return;
          for (const p of victims) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
          await new Promise(r => setTimeout(r, 50));
        }
        throw new Error(`sshd in ${h.ns} would not die`);
      },
      startHost: startSshd,
      unplug(i) { ip(['link', 'set', `zch${pid}x${i}`, 'down']); },
      plug(i) { ip(['link', 'set', `zch${pid}x${i}`, 'up']); },
      linkBytes(i) {
        // The bridge-side end receives what the host sends, and the other way round.
        const stat = (name: string) => Number(readFileSync(`/sys/class/net/zch${pid}x${i}/statistics/${name}`, 'utf8'));
        return { sent: stat('rx_bytes'), received: stat('tx_bytes') };
      },
      runIn(i, cmd) {
        return new Promise(resolve => {
          const c = spawn('ip', ['netns', 'exec', hosts[i].ns, 'sh', '-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '', stderr = '';
          c.stdout.on('data', d => { stdout += d; });
          c.stderr.on('data', d => { stderr += d; });
          c.on('close', code => resolve({ code, stdout, stderr }));
        });
      },
      pgrepIn,
      pgrepAll,
      async waitNoneLeft(pattern, timeoutMs = 15000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const left = pgrepAll(pattern);
          if (left.length === 0 || Date.now() > deadline) return left;
          await new Promise(r => setTimeout(r, 100));
        }
      },
      async cleanup() {
        process.removeListener('exit', cleanupSync);
        cleanupSync();
      },
    };
  } catch (e) {
    process.removeListener('exit', cleanupSync);
    cleanupSync();
    throw e;
  }
}

// zcmpirun's host options (--host, --hostfile, --map-by, --oversubscribe, --ssh-*,
// --node, --bootstrap-addr) and turning them into a placement: one HostStarter per rank,
// LocalStarter for hosts that are this machine, SshStarter (connected) for the others.
import { Option, type Command } from 'commander';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import {
  combineHosts, isLocalHost, isLocalHostResolved, localIdentity, mapRanks, parseHostList, readHostfile, totalSlots,
  type HostEntry, type LocalIdentity, type MapBy,
} from '../hosts.js';
import { LocalStarter } from '../local-starter.js';
import type { HostStarter } from '../rank-starter.js';
import { resolveAuth } from './auth.js';
import { SshStarter } from './ssh-starter.js';

export interface HostCliOptions {
  hosts: HostEntry[] | null;
  mapBy: MapBy;
  oversubscribe: boolean;
  sshUser: string;
  sshPort: number;
  sshKeys: string[];
  sshAgent: boolean;
  knownHostsFile: string;
  acceptNew: boolean;
  node: string | undefined;
  bootstrapAddr: string | undefined;
  /** Seconds for TCP connect + SSH handshake + authentication per host. */
  connectTimeout: number;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the host and SSH options to zcmpirun's command. */
export function addHostOptions(command: Command): Command {
  return command
    .addOption(new Option('--host <list>', 'run on these hosts: h1[:slots],h2[:slots],... (repeatable)').argParser(collect))
    .addOption(new Option('--hostfile <FILE>', 'run on the hosts of FILE: lines "host slots=N", # comments'))
    .addOption(new Option('--map-by <policy>', 'place ranks by slot (fill each host first, the default) or by node (round robin)'))
    .option('--oversubscribe', 'allow more ranks than slots')
    .addOption(new Option('--ssh-user <USER>', 'remote user name (default: your user name)'))
    .addOption(new Option('--ssh-port <PORT>', 'sshd port on the hosts (default 22)'))
    .addOption(new Option('--ssh-key <FILE>', 'private key for SSH authentication (repeatable; default ~/.ssh/id_*)').argParser(collect))
    .option('--no-ssh-agent', 'do not use the SSH agent even when SSH_AUTH_SOCK is set')
    .addOption(new Option('--ssh-known-hosts <FILE>', 'known_hosts file to check host keys against (default ~/.ssh/known_hosts)'))
    .option('--ssh-accept-new', 'accept and record host keys of hosts not yet in known_hosts (changed keys are still refused)')
    .addOption(new Option('--ssh-connect-timeout <S>', 'seconds for connecting and authenticating to each host (default 20)'))
    .addOption(new Option('--node <PATH>', 'node binary on the remote hosts (default: node on the remote PATH)'))
    .option('--stdin', 'forward the launcher\'s stdin to rank 0')
    .addOption(new Option('--bootstrap-addr <ADDR>', 'address of this machine that ranks on other hosts use to reach the launcher (default: the local address of each SSH connection)'));
}

/** Reads and checks the host options; throws Error with a one-line message. */
export function toHostOptions(command: Command): HostCliOptions {
  const o = command.opts<{
    host?: string[]; hostfile?: string; mapBy?: string; oversubscribe?: boolean; sshUser?: string; sshPort?: string;
    sshKey?: string[]; sshAgent: boolean; sshKnownHosts?: string; sshAcceptNew?: boolean; sshConnectTimeout?: string;
    node?: string; bootstrapAddr?: string;
  }>();
  let hosts: HostEntry[] | null = null;
  const hostArgs = o.host ?? [];
  if (o.hostfile !== undefined || hostArgs.length > 0) {
    const lists: HostEntry[][] = [];
    if (o.hostfile !== undefined) lists.push(readHostfile(o.hostfile));
    for (const h of hostArgs) lists.push(parseHostList(h));
    hosts = combineHosts(...lists);
  }
  const mapBy = o.mapBy ?? 'slot';
  if (mapBy !== 'slot' && mapBy !== 'node') throw new Error(`option --map-by: expected slot or node, got '${mapBy}'`);
  let port = 22;
  if (o.sshPort !== undefined) {
    port = /^\d+$/.test(o.sshPort) ? Number(o.sshPort) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new Error(`option --ssh-port: expected a port number, got '${o.sshPort}'`);
  }
  let connectTimeout = 20;
  if (o.sshConnectTimeout !== undefined) {
    connectTimeout = Number(o.sshConnectTimeout);
    if (!(connectTimeout > 0)) throw new Error(`option --ssh-connect-timeout: expected seconds > 0, got '${o.sshConnectTimeout}'`);
  }
  if (o.bootstrapAddr !== undefined && isIP(o.bootstrapAddr) === 0) {
    throw new Error(`option --bootstrap-addr: expected an IP address of this machine, got '${o.bootstrapAddr}'`);
  }
  return {
    hosts,
    mapBy,
    oversubscribe: o.oversubscribe === true,
    sshUser: o.sshUser ?? userInfo().username,
    sshPort: port,
    sshKeys: (o.sshKey ?? []).map(k => resolve(k)),
    sshAgent: o.sshAgent,
    knownHostsFile: resolve(o.sshKnownHosts ?? join(homedir(), '.ssh', 'known_hosts')),
    acceptNew: o.sshAcceptNew === true,
    node: o.node,
    bootstrapAddr: o.bootstrapAddr,
    connectTimeout,
  };
}

export interface Placement {
  /** One starter per rank (index = rank). */
  placement: HostStarter[];
  /** Address the KV service must bind to (undefined: the job's default, loopback). */
  kvHost: string | undefined;
  /** Closes every starter (for failures before the job takes them over). */
  close(): Promise<void>;
}

async function isLocal(host: string, id: LocalIdentity): Promise<boolean> {
  if (isLocalHost(host, id)) return true;
  if (isIP(host)) return false;
  try {
    const addrs = await lookup(host, { all: true });
    return isLocalHostResolved(host, addrs.map(a => a.address), id);
  } catch {
    return false; // unresolvable: the SSH connect reports it
  }
}

/**
 * Maps np ranks onto the hosts and makes one starter per host: local hosts share a
 * LocalStarter, remote hosts get a connected SshStarter (in parallel). Any host that
 * cannot be reached ends everything with an Error naming it; the others are closed.
 * Without hosts, every rank is local (the local launcher's behaviour).
 */
export async function buildPlacement(np: number | undefined, h: HostCliOptions, opts: { timeoutStartup: number; warn: (m: string) => void }): Promise<Placement> {
  if (h.hosts === null) {
    if (np === undefined) throw new Error('option -np is required: the number of ranks to start');
    const local = new LocalStarter();
    return { placement: Array.from({ length: np }, () => local), kvHost: h.bootstrapAddr, close: () => local.close() };
  }
  const hosts = h.hosts;
  const ranks = mapRanks(hosts, np ?? totalSlots(hosts), { mapBy: h.mapBy, oversubscribe: h.oversubscribe });
  const used = [...new Set(ranks.map(r => r.hostIndex))].sort((a, b) => a - b);
  const id = localIdentity();
  const local = await Promise.all(used.map(i => isLocal(hosts[i].host, id)));
  const remote = used.filter((_, k) => !local[k]);

  let auth: ReturnType<typeof resolveAuth> | undefined;
  if (remote.length > 0) {
    auth = resolveAuth({ keyFiles: h.sshKeys, agent: h.sshAgent ? undefined : null });
    for (const w of auth.warnings) opts.warn(w);
  }
  const timeoutS = opts.timeoutStartup > 0 ? Math.min(h.connectTimeout, opts.timeoutStartup) : h.connectTimeout;
  const starters = new Map<number, HostStarter>();
  // Every name of this machine is one host: one LocalStarter (named as the first), so
  // local ranks and sizes count all of this machine's ranks.
  const firstLocal = used.find((_, k) => local[k]);
  const localStarter = firstLocal === undefined ? null : new LocalStarter({ host: hosts[firstLocal].host });
  const results = await Promise.allSettled(used.map(async (i, k) => {
    if (local[k]) {
      starters.set(i, localStarter!);
      return;
    }
    starters.set(i, await SshStarter.connect({
      host: hosts[i].host,
      port: h.sshPort,
      user: h.sshUser,
      auth: auth!,
      knownHostsFile: h.knownHostsFile,
      acceptNew: h.acceptNew,
      node: h.node,
      connectTimeoutMs: timeoutS * 1000,
      warn: opts.warn,
    }));
  }));
  const close = async () => { await Promise.allSettled([...new Set(starters.values())].map(s => s.close())); };
  const failed = results.find(r => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) {
    await close();
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }

  // Where the KV service listens: --bootstrap-addr; else the one address every SSH
  // connection came from; else every interface (the secret still guards it).
  let kvHost = h.bootstrapAddr;
  if (kvHost === undefined && remote.length > 0) {
    const addrs = [...new Set(remote.map(i => (starters.get(i) as SshStarter).bootstrapAddress))];
    kvHost = addrs.length === 1 ? addrs[0] : (addrs.some(a => isIP(a) === 6) ? '::' : '0.0.0.0');
  }
  if (h.bootstrapAddr !== undefined) {
    for (const i of remote) (starters.get(i) as SshStarter).setBootstrapAddress(h.bootstrapAddr);
  }
  return { placement: ranks.map(r => starters.get(r.hostIndex)!), kvHost, close };
}

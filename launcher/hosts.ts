// Host selection for zcmpirun, modelled on Open MPI's mpirun:
//   --host h1:2,h2:2        slots per host (default 1)
//   --hostfile FILE         lines `host slots=N`, `#` comments, blank lines
//   -np N                   ranks mapped onto hosts in order
//   --map-by slot|node      fill each host's slots first (default) or round robin
//   --oversubscribe         allow more ranks than slots
// Hosts that are this machine (localhost, 127.x, ::1, its hostname, its interface
// addresses) are marked local so the launcher starts their ranks without SSH.
// Everything here is pure except localIdentity() and readHostfile(), which gather the
// inputs the pure functions take.
import { readFileSync } from 'node:fs';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

export interface HostEntry {
  /** Host name or address as the user wrote it (brackets removed from IPv6 addresses). */
  host: string;
  /** Slots (ranks the host takes before it is oversubscribed). */
  slots: number;
  /** Where the entry came from, for messages: "--host" or "FILE:LINE". */
  origin: string;
}

export type MapBy = 'slot' | 'node';

export interface Placement {
  rank: number;
  host: string;
  /** Index of the host in the host list. */
  hostIndex: number;
  localRank: number;
  localSize: number;
}

export interface MapOptions {
  mapBy?: MapBy;
  oversubscribe?: boolean;
}

/** The identity of this machine, used to recognise hosts that are local. */
export interface LocalIdentity {
  hostnames: string[];
  addresses: string[];
}

const HOST_RE = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** Validates a host name or address; returns it without IPv6 brackets or throws. */
export function checkHostName(raw: string, where: string): string {
  let h = raw;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (isIP(h)) return h;
  if (h.length > 0 && h.length <= 253 && HOST_RE.test(h)) return h;
  throw new Error(`${where}: invalid host name "${raw}"`);
}

function parseSlots(text: string, where: string): number {
  if (!/^[0-9]+$/.test(text)) throw new Error(`${where}: invalid slot count "${text}" (expected a positive integer)`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${where}: invalid slot count "${text}" (expected a positive integer)`);
  return n;
}

/** Adds entries in order; a host named twice gets the sum of its slots (as in Open MPI). */
function merge(entries: HostEntry[]): HostEntry[] {
  const out: HostEntry[] = [];
  const byName = new Map<string, HostEntry>();
  for (const e of entries) {
    const prev = byName.get(e.host);
    if (prev) prev.slots += e.slots;
    else {
      const copy = { ...e };
      byName.set(e.host, copy);
      out.push(copy);
    }
  }
  return out;
}

/**
 * Parses a `--host` value: comma-separated `host[:slots]` items. IPv6 addresses go in
 * brackets (`[fd00::1]:2`). May be given several times; concatenate the results.
 */
export function parseHostList(spec: string): HostEntry[] {
  const entries: HostEntry[] = [];
  const items = spec.split(',').map(s => s.trim());
  for (const item of items) {
    if (item === '') throw new Error(`--host: empty host in "${spec}"`);
    let host = item;
    let slots = 1;
    const m = /^(\[[^\]]+\]|[^:]+):([^:]*)$/.exec(item);
    if (m) {
      host = m[1];
      slots = parseSlots(m[2], `--host ${item}`);
    } else if (item.includes(':') && !item.startsWith('[')) {
      // A bare IPv6 address without brackets is ambiguous with host:slots.
      throw new Error(`--host: cannot parse "${item}" (use host:slots, and [addr]:slots for IPv6)`);
    }
    entries.push({ host: checkHostName(host, '--host'), slots, origin: '--host' });
  }
  return merge(entries);
}

/**
 * Parses hostfile text. Each non-blank line: `host [slots=N] [max_slots=N]`, `#` starts a
 * comment anywhere. A bad line throws an Error naming FILE:LINE and the line's text.
 */
export function parseHostfile(text: string, fileName: string): HostEntry[] {
  const entries: HostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const where = `${fileName}:${i + 1}`;
    const bad = (why: string): never => {
      throw new Error(`${where}: bad hostfile line "${rawLine.trim()}": ${why}`);
    };
    const hash = rawLine.indexOf('#');
    const line = (hash >= 0 ? rawLine.slice(0, hash) : rawLine).trim();
    if (line === '') return;
    const words = line.split(/\s+/);
    let host: string;
    try {
      host = checkHostName(words[0], where);
    } catch {
      return bad(`invalid host name "${words[0]}"`);
    }
    let slots = 1;
    const seen = new Set<string>();
    for (const w of words.slice(1)) {
      const kv = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(w);
      if (!kv) return bad(`expected slots=N, got "${w}"`);
      const key = kv[1].toLowerCase();
      if (seen.has(key)) return bad(`"${key}" given twice`);
      seen.add(key);
      if (key === 'slots' || key === 'max_slots' || key === 'max-slots') {
        let n: number;
        try {
          n = parseSlots(kv[2], where);
        } catch {
          return bad(`invalid slot count "${kv[2]}" (expected a positive integer)`);
        }
        if (key === 'slots') slots = n;
        // max_slots only bounds oversubscription in Open MPI; accepted and ignored here.
      } else {
        return bad(`unknown keyword "${kv[1]}" (expected slots=N)`);
      }
    }
    entries.push({ host, slots, origin: where });
  });
  if (entries.length === 0) throw new Error(`${fileName}: hostfile names no hosts`);
  return merge(entries);
}

/** Reads and parses a hostfile; I/O errors become one-line messages naming the file. */
export function readHostfile(path: string): HostEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read hostfile ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseHostfile(text, path);
}

/** Combines --host and --hostfile: hostfile hosts first, then --host ones (merged). */
export function combineHosts(...lists: HostEntry[][]): HostEntry[] {
  return merge(lists.flat());
}

export function totalSlots(hosts: HostEntry[]): number {
  return hosts.reduce((n, h) => n + h.slots, 0);
}

/**
 * Maps ranks 0..np-1 onto hosts. `slot` fills each host's slots in order, so ranks on
 * one host are consecutive; `node` deals ranks round robin over hosts with a free slot.
 * More ranks than slots throws unless oversubscribe, in which case the extra ranks are
 * spread evenly over all hosts (as Open MPI does).
 */
export function mapRanks(hosts: HostEntry[], np: number, opts: MapOptions = {}): Placement[] {
  const mapBy = opts.mapBy ?? 'slot';
  if (mapBy !== 'slot' && mapBy !== 'node') throw new Error(`--map-by: unknown policy "${String(mapBy)}" (expected slot or node)`);
  if (!Number.isSafeInteger(np) || np < 1) throw new Error(`-np: expected a positive integer, got ${np}`);
  if (hosts.length === 0) throw new Error('no hosts to map ranks onto');
  const slots = totalSlots(hosts);
  if (np > slots && !opts.oversubscribe) {
    throw new Error(
      `not enough slots: ${np} ranks requested but only ${slots} slot${slots === 1 ? '' : 's'} on ` +
      `${hosts.length} host${hosts.length === 1 ? '' : 's'} (${hosts.map(h => `${h.host}:${h.slots}`).join(',')}); ` +
      'add slots or use --oversubscribe');
  }
  const hostOf: number[] = [];
  if (mapBy === 'slot') {
    const counts = hosts.map(h => h.slots);
    if (np <= slots) {
      // Take slots in order until np ranks are placed.
      let left = np;
      for (let i = 0; i < counts.length; i++) {
        counts[i] = Math.min(counts[i], left);
        left -= counts[i];
      }
    } else {
      // Oversubscribed: every host full, extra ranks spread one by one over the hosts.
      let extra = np - slots;
      for (let i = 0; extra > 0; i = (i + 1) % counts.length, extra--) counts[i]++;
    }
    counts.forEach((c, i) => { for (let k = 0; k < c; k++) hostOf.push(i); });
  } else {
    const used = hosts.map(() => 0);
    let i = 0;
    while (hostOf.length < np) {
      const full = hostOf.length >= slots;
      // Skip hosts whose slots are used up, unless every slot is used (oversubscribing).
      let tries = 0;
      while (!full && used[i] >= hosts[i].slots && tries < hosts.length) { i = (i + 1) % hosts.length; tries++; }
      hostOf.push(i);
      used[i]++;
      i = (i + 1) % hosts.length;
    }
  }
  const localSize = hosts.map(() => 0);
  for (const h of hostOf) localSize[h]++;
  const next = hosts.map(() => 0);
  return hostOf.map((h, rank) => ({ rank, host: hosts[h].host, hostIndex: h, localRank: next[h]++, localSize: localSize[h] }));
}

/** Gathers this machine's names and interface addresses. */
export function localIdentity(): LocalIdentity {
  const hn = osHostname();
  const hostnames = [hn];
  const dot = hn.indexOf('.');
  if (dot > 0) hostnames.push(hn.slice(0, dot));
  const addresses: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) addresses.push(a.address.replace(/%.*$/, ''));
  }
  return { hostnames, addresses };
}

function isLoopbackAddress(addr: string): boolean {
  const kind = isIP(addr);
  if (kind === 4) return addr.startsWith('127.');
  if (kind === 6) {
    const a = addr.toLowerCase();
    return a === '::1' || a === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(a);
  }
  return false;
}

/**
 * True when `host` names this machine: localhost (and *.localhost), a loopback address,
 * this machine's host name (case-insensitive, with or without domain), or one of its
 * interface addresses. Names are not resolved here (see isLocalHostResolved).
 */
export function isLocalHost(host: string, id: LocalIdentity): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === 'localhost.localdomain') return true;
  if (isLoopbackAddress(h)) return true;
  if (isIP(h)) {
    const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    const plain = v4mapped ? v4mapped[1] : h;
    return id.addresses.some(a => a.toLowerCase() === plain);
  }
  return id.hostnames.some(n => n.toLowerCase() === h);
}

/**
 * True when `host` is local by name (isLocalHost) or when every address it resolves to
 * (given as `resolved`) is loopback or one of this machine's addresses.
 */
export function isLocalHostResolved(host: string, resolved: string[], id: LocalIdentity): boolean {
  if (isLocalHost(host, id)) return true;
  return resolved.length > 0 && resolved.every(a => isLocalHost(a, id));
}

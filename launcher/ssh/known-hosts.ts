// OpenSSH known_hosts: parsing, lookup and host key checking.
//
// Format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): `[@marker] patterns keytype base64 [comment]`.
// patterns is a comma-separated list of host names/addresses with `*` and `?` wildcards
// and `!` negation; a non-default port is written `[host]:port`. Hashed entries are
// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. Markers: @revoked (key always refused)
// and @cert-authority (CA keys; host certificates are not supported here, so those lines
// never match).
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostLine {
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  patterns: string;
  keyType: string;
  key: Buffer;
}

export interface KnownHosts {
  file: string;
  entries: KnownHostLine[];
}

export type HostKeyVerdict =
  | { status: 'known'; line: number }
  | { status: 'unknown' }
  | { status: 'changed'; expected: { line: number; keyType: string; fingerprint: string }[] }
  | { status: 'revoked'; line: number };

/** The key type string that starts an SSH public key blob (e.g. "ssh-ed25519"). */
export function keyBlobType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  if (n > 64 || 4 + n > blob.length) return 'unknown';
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** OpenSSH-style fingerprint: "SHA256:" + unpadded base64 of SHA-256 of the key blob. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Short human name of a key type as ssh prints it: ED25519, RSA, ECDSA, DSA. */
export function keyTypeLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type === 'ssh-rsa' || type.startsWith('rsa-sha2')) return 'RSA';
  if (type.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (type === 'ssh-dss') return 'DSA';
  if (type.startsWith('sk-ssh-ed25519')) return 'ED25519-SK';
  if (type.startsWith('sk-ecdsa')) return 'ECDSA-SK';
  return type;
}

/** The name known_hosts uses for host:port: `host` for port 22, else `[host]:port`. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string, file: string): KnownHosts {
  const entries: KnownHostLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/\s+/);
    let marker: KnownHostLine['marker'] = null;
    if (words[0].startsWith('@')) {
      const m = words.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: ignore the line, as ssh does
    }
    if (words.length < 3) return; // malformed: ssh ignores such lines too
    const [patterns, keyType, b64] = words;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    if (keyBlobType(key) !== keyType) return;
    entries.push({ line: i + 1, marker, patterns, keyType, key });
  });
  return { file, entries };
}

/** Reads a known_hosts file; a missing file is an empty list. */
export function loadKnownHosts(file: string): KnownHosts {
  if (!existsSync(file)) return { file, entries: [] };
  return parseKnownHosts(readFileSync(file, 'utf8'), file);
}

function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', 'i');
}

function matchHashed(pattern: string, name: string): boolean {
  const parts = pattern.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && got.equals(want);
}

/**
 * Whether a known_hosts pattern list matches any of `names` (the host name and, when
 * different, its address, each already in `[host]:port` form when port != 22).
 * A matching negated pattern makes the whole line not match.
 */
export function patternsMatch(patterns: string, names: string[]): boolean {
  if (patterns.startsWith('|')) return names.some(n => matchHashed(patterns, n));
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p === '') continue;
    const negated = p.startsWith('!');
    const glob = negated ? p.slice(1) : p;
    const hit = names.some(n => globToRegExp(glob).test(n));
    if (hit && negated) return false;
    if (hit) matched = true;
  }
  return matched;
}

/**
 * Checks a host key blob against known_hosts for `host` (and optionally the address it
 * connected to) on `port`:
 *  - revoked: some @revoked line holds this key, wherever it applies;
 *  - known: a line matching the host holds exactly this key;
 *  - changed: lines match the host but none holds this key (any key type: a host that
 *    suddenly offers a different key type is treated as changed, never as new);
 *  - unknown: no line matches the host.
 */
export function checkHostKey(kh: KnownHosts, host: string, port: number, blob: Buffer, address?: string): HostKeyVerdict {
  const names = [hostKeyName(host, port)];
  if (address && address !== host) names.push(hostKeyName(address, port));
  for (const e of kh.entries) {
    if (e.marker === 'revoked' && e.key.equals(blob)) return { status: 'revoked', line: e.line };
  }
  const matching = kh.entries.filter(e => e.marker === null && patternsMatch(e.patterns, names.slice(0, 1)));
  // The address only counts when the name itself is unknown (like CheckHostIP).
  const candidates = matching.length > 0 ? matching
    : kh.entries.filter(e => e.marker === null && names.length > 1 && patternsMatch(e.patterns, names.slice(1)));
  if (candidates.length === 0) return { status: 'unknown' };
  const hit = candidates.find(e => e.key.equals(blob));
  if (hit) return { status: 'known', line: hit.line };
  return {
    status: 'changed',
    expected: candidates.map(e => ({ line: e.line, keyType: e.keyType, fingerprint: fingerprint(e.key) })),
  };
}

/** Host key algorithms known for this host, to offer first in the key exchange. */
export function knownKeyTypes(kh: KnownHosts, host: string, port: number): string[] {
  const names = [hostKeyName(host, port)];
  const types = new Set<string>();
  for (const e of kh.entries) if (e.marker === null && patternsMatch(e.patterns, names)) types.add(e.keyType);
  return [...types];
}

/**
 * Appends `host keytype base64` (with `[host]:port` for a non-default port) to the file,
 * creating it (0600) and its directory (0700) when missing.
 */
export function appendKnownHost(file: string, host: string, port: number, blob: Buffer): void {
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(file)) {
    const size = statSync(file).size;
    if (size > 0) {
      const text = readFileSync(file);
      if (text[text.length - 1] !== 0x0a) prefix = '\n';
    }
  }
  const line = `${prefix}${hostKeyName(host, port)} ${keyBlobType(blob)} ${blob.toString('base64')}\n`;
  appendFileSync(file, line, { mode: 0o600 });
}

// One SSH connection to one host: TCP connect (our own socket, so the local address the
// host sees us by is known: it is the default bootstrap address for that host's ranks),
// host key check against known_hosts, public key authentication, keepalives.
// Every failure becomes a one-line Error that names the host.
import { connect as netConnect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Client as ClientType } from 'ssh2';
import type { ResolvedAuth } from './auth.js';
import {
  appendKnownHost, checkHostKey, fingerprint, hostKeyName, keyBlobType, keyTypeLabel, knownKeyTypes, loadKnownHosts,
} from './known-hosts.js';

const { Client } = ssh2;

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  auth: ResolvedAuth;
  knownHostsFile: string;
  /** Accept and record keys of hosts not in known_hosts (changed keys are still refused). */
  acceptNew: boolean;
  /** TCP connect plus SSH handshake and authentication must finish within this. */
  timeoutMs: number;
  /** SSH keepalive period; a host that misses keepaliveCountMax in a row is lost. */
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  /** Warnings (e.g. a newly recorded host key). */
  warn: (message: string) => void;
}

export interface SshConnection {
  client: ClientType;
  socket: Socket;
  /** This machine's address on the connection (what the host routes back to). */
  localAddress: string;
  remoteAddress: string;
  /** Milliseconds spent in each phase, for the launch benchmark. */
  timing: { tcpMs: number; handshakeMs: number };
}

export class SshConnectError extends Error {
  constructor(readonly host: string, message: string) {
    super(message);
    this.name = 'SshConnectError';
  }
}

const DEFAULT_HOST_KEY_ALGOS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
];

/** Host key algorithms with the ones known_hosts has for this host first (as ssh does). */
export function hostKeyAlgorithms(knownTypes: string[]): string[] {
  const first: string[] = [];
  for (const t of knownTypes) {
    const algos = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
    for (const a of algos) if (DEFAULT_HOST_KEY_ALGOS.includes(a) && !first.includes(a)) first.push(a);
  }
  return [...first, ...DEFAULT_HOST_KEY_ALGOS.filter(a => !first.includes(a))];
}

function tcpError(host: string, port: number, e: NodeJS.ErrnoException, timeoutMs: number): string {
  const where = `${host}:${port}`;
  switch (e.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${host}: cannot resolve host name`;
    case 'ECONNREFUSED':
      return `${where}: connection refused (is sshd running there?)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return `${where}: host unreachable (${e.code})`;
    case 'ETIMEDOUT':
      return `${where}: connection timed out after ${(timeoutMs / 1000).toFixed(0)} s`;
    default:
      return `${where}: cannot connect: ${e.code ?? e.message}`;
  }
}

function openTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      const err = new Error('timeout') as NodeJS.ErrnoException;
      err.code = 'ETIMEDOUT';
      reject(new SshConnectError(host, tcpError(host, port, err, timeoutMs)));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      sock.setNoDelay(true);
      resolve(sock);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SshConnectError(host, tcpError(host, port, e, timeoutMs)));
    });
  });
}

/** Connects, verifies the host key, authenticates; resolves with a ready connection. */
export async function connectSsh(o: ConnectOptions): Promise<SshConnection> {
  const t0 = performance.now();
  const deadline = Date.now() + o.timeoutMs;
  const socket = await openTcp(o.host, o.port, o.timeoutMs);
  const t1 = performance.now();
  const localAddress = (socket.localAddress ?? '').replace(/^::ffff:/, '');
  const remoteAddress = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const known = loadKnownHosts(o.knownHostsFile);
  const target = `${o.username}@${hostKeyName(o.host, o.port)}`;
  let refusal: string | undefined;
  const tried: string[] = [];

  const client = new Client();
  return await new Promise<SshConnection>((resolve, reject) => {
    let settled = false;
    const fail = (msg: string) => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('ready');
      client.on('error', () => {});
      client.end();
      socket.destroy();
      reject(new SshConnectError(o.host, msg));
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('error');
      resolve({ client, socket, localAddress, remoteAddress, timing: { tcpMs: t1 - t0, handshakeMs: performance.now() - t1 } });
    });
    client.on('error', (e: Error & { level?: string }) => {
      if (refusal) return fail(refusal);
      if (e.level === 'client-authentication') {
        return fail(`${target}: authentication refused (tried ${tried.length ? tried.join(', ') : o.auth.describe})`);
      }
      if (/timed out while waiting for handshake/i.test(e.message)) {
        return fail(`${o.host}:${o.port}: SSH handshake timed out after ${(o.timeoutMs / 1000).toFixed(0)} s`);
      }
      fail(`${o.host}:${o.port}: SSH error: ${e.message}`);
    });
    client.on('close', () => fail(refusal ?? `${o.host}:${o.port}: connection closed during SSH handshake`));

    const methods = o.auth.methods(o.username);
    let next = 0;
    client.connect({
      sock: socket,
      username: o.username,
      readyTimeout: Math.max(1000, deadline - Date.now()),
      keepaliveInterval: o.keepaliveIntervalMs,
      keepaliveCountMax: o.keepaliveCountMax,
      algorithms: { serverHostKey: hostKeyAlgorithms(knownKeyTypes(known, o.host, o.port)) as never },
      hostVerifier: (key: Buffer) => {
        const fp = fingerprint(key);
        const type = keyTypeLabel(keyBlobType(key));
        const verdict = checkHostKey(known, o.host, o.port, key, remoteAddress);
        switch (verdict.status) {
          case 'known':
            return true;
          case 'revoked':
            refusal = `${o.host}: host key ${type} ${fp} is REVOKED in ${o.knownHostsFile}:${verdict.line}; refusing to connect`;
            return false;
          case 'changed': {
            const was = verdict.expected.map(x => `${keyTypeLabel(x.keyType)} ${x.fingerprint} (${o.knownHostsFile}:${x.line})`).join(', ');
            refusal = `${o.host}: host key has CHANGED: it offers ${type} ${fp} but known_hosts has ${was}; ` +
              'refusing to connect (possible man-in-the-middle; remove the old key if the change is expected)';
            return false;
          }
          case 'unknown':
            if (o.acceptNew) {
              try {
                appendKnownHost(o.knownHostsFile, o.host, o.port, key);
              } catch (e) {
                refusal = `${o.host}: cannot record host key in ${o.knownHostsFile}: ${(e as Error).message}`;
                return false;
              }
              o.warn(`Permanently added ${hostKeyName(o.host, o.port)} (${type} ${fp}) to ${o.knownHostsFile}`);
              return true;
            }
            refusal = `${o.host}: unknown host key ${type} ${fp} (not in ${o.knownHostsFile}); ` +
              'refusing to connect (add it to known_hosts or use --ssh-accept-new)';
            return false;
        }
      },
      authHandler: (_left: unknown, _partial: unknown, cb: (m: unknown) => void) => {
        if (next >= methods.length) return cb(false);
        const m = methods[next++];
        tried.push(m.label);
        cb(m.method);
      },
    } as never);
  });
}

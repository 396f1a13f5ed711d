// Rank side of the launch: what zcmpirun told this process (rank, size, modes) and a
// client for the launcher's key-value service (put/get/fence/abort), used by init() to
// exchange transport addresses. Without zcmpirun the process is a singleton job of one
// rank (like MPI) and the key-value store is an in-process map.
// Wire protocol: see launcher/kv-server.ts (newline-delimited JSON, base64 values).

import { writeSync } from 'node:fs';
import { Socket, connect } from 'node:net';
import { hostname } from 'node:os';
import { LineSplitter } from './line-splitter.js';
import { GUARD_MODES, TRANSPORT_NAMES, enumOption } from './options.js';

export type GuardMode = 'block' | 'strict' | 'off';
export type TransportName = 'auto' | 'ucx' | 'verbs';

export { GUARD_MODES, TRANSPORT_NAMES } from './options.js';

export interface JobInfo {
  rank: number;
  size: number;
  localRank: number;
  localSize: number;
  jobId: string;
  host: string;
  guard: GuardMode;
  transport: TransportName;
  /** True when started by zcmpirun, false for a singleton (`node program.ts`). */
  launched: boolean;
}

export interface KvClient {
  put(key: string, value: Uint8Array | string): Promise<void>;
  /** Waits until some rank put `key`; rejects when the job ends or the launcher goes away. */
  get(key: string): Promise<Buffer>;
  /** Resolves when every rank of the job called fence() as many times as this one. */
  fence(): Promise<void>;
  /** Ask the launcher to end the whole job (the message names the reason). */
  abort(message: string): Promise<void>;
  close(): void;
}

/** How long to wait for the launcher to accept the connection before giving up. */
const CONNECT_TIMEOUT_MS = 60_000;

// The secret leaves process.env as soon as it is read (child processes of the rank must
// not inherit it); kept here so a later connectKv() in the same process still works.
let savedSecret: string | undefined;

function takeSecret(env: NodeJS.ProcessEnv): string | undefined {
  const value = env.ZCMPI_KV_SECRET;
  if (env === process.env) {
    if (value !== undefined) savedSecret = value;
    delete process.env.ZCMPI_KV_SECRET;
    return savedSecret;
  }
  return value;
}

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set (the process looks launched by zcmpirun: ZCMPI_RANK is set)`);
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}; got '${value}'`);
  return n;
}

function parseAddr(value: string | undefined): { host: string; port: number } {
  if (value === undefined || value === '') throw new Error('ZCMPI_KV_ADDR is not set (the process looks launched by zcmpirun: ZCMPI_RANK is set)');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new Error(`ZCMPI_KV_ADDR must be host:port; got '${value}'`);
  return { host: m[1], port };
}

export function readJobInfo(env: NodeJS.ProcessEnv = process.env): JobInfo {
  const guard = enumOption(env, 'ZCMPI_GUARD', GUARD_MODES, 'block');
  const transport = enumOption(env, 'ZCMPI_TRANSPORT', TRANSPORT_NAMES, 'auto');
  if (env.ZCMPI_RANK === undefined || env.ZCMPI_RANK === '') {
    return {
      rank: 0, size: 1, localRank: 0, localSize: 1, jobId: `singleton-${process.pid}`,
      host: env.ZCMPI_HOST || hostname(), guard, transport, launched: false,
    };
  }
  const rank = intVar(env, 'ZCMPI_RANK', 0);
  const size = intVar(env, 'ZCMPI_SIZE', 1);
  if (rank >= size) throw new Error(`ZCMPI_RANK must be below ZCMPI_SIZE (${size}); got '${env.ZCMPI_RANK}'`);
  const localRank = intVar(env, 'ZCMPI_LOCAL_RANK', 0);
  const localSize = intVar(env, 'ZCMPI_LOCAL_SIZE', 1);
  if (localRank >= localSize) throw new Error(`ZCMPI_LOCAL_RANK must be below ZCMPI_LOCAL_SIZE (${localSize}); got '${env.ZCMPI_LOCAL_RANK}'`);
  if (localSize > size) throw new Error(`ZCMPI_LOCAL_SIZE must not exceed ZCMPI_SIZE (${size}); got '${env.ZCMPI_LOCAL_SIZE}'`);
  const jobId = env.ZCMPI_JOB_ID;
  if (jobId === undefined || jobId === '') throw new Error('ZCMPI_JOB_ID is not set (the process looks launched by zcmpirun: ZCMPI_RANK is set)');
  parseAddr(env.ZCMPI_KV_ADDR);
  takeSecret(env);
  if (env === process.env) watchLauncher(env.ZCMPI_LAUNCHER_FD, rank);
  return { rank, size, localRank, localSize, jobId, host: env.ZCMPI_HOST || hostname(), guard, transport, launched: true };
}

let watching = false;

/**
 * A local launcher gives each rank a pipe on which it never writes (ZCMPI_LAUNCHER_FD).
 * EOF there means the launcher is gone, even if it was SIGKILLed and could not end the
 * job: then this rank ends itself and everything it started (its process group), so no
 * rank is orphaned. The watch never keeps the process alive.
 */
function watchLauncher(fdText: string | undefined, rank: number): void {
  if (watching || fdText === undefined || !/^\d+$/.test(fdText)) return;
  watching = true;
  let lifeline: Socket;
  try {
    lifeline = new Socket({ fd: Number(fdText), readable: true, writable: false });
  } catch {
    return; // not a pipe we can watch (e.g. a re-exec without it): nothing to do
  }
  lifeline.unref();
  lifeline.on('error', () => { /* treated like EOF via 'close' */ });
  lifeline.on('data', () => { /* the launcher never writes; ignore */ });
  lifeline.on('close', () => {
    try { writeSync(2, `zcmpi: rank ${rank}: the launcher went away; ending this rank\n`); } catch { /* stderr may be gone too */ }
    try { process.kill(-process.pid, 'SIGKILL'); } catch { /* not a group leader */ }
    process.kill(process.pid, 'SIGKILL');
  });
}

export async function connectKv(info: JobInfo, env: NodeJS.ProcessEnv = process.env): Promise<KvClient> {
  if (!info.launched) return new LocalKv();
  const addr = parseAddr(env.ZCMPI_KV_ADDR);
  const secret = takeSecret(env);
  if (secret === undefined || secret === '') throw new Error('ZCMPI_KV_SECRET is not set (the process looks launched by zcmpirun: ZCMPI_RANK is set)');
  return TcpKv.connect(addr.host, addr.port, info.rank, secret);
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '') throw new TypeError(`key must be a non-empty string; got ${typeof key === 'string' ? "''" : typeof key}`);
}

function toBuffer(value: Uint8Array | string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`value must be a Uint8Array or a string; got ${typeof value}`);
}

/** Singleton job: one rank, so fences complete at once and gets see only our own puts. */
class LocalKv implements KvClient {
  private readonly store = new Map<string, Buffer>();
  private readonly waiters = new Map<string, Array<(v: Buffer) => void>>();

  async put(key: string, value: Uint8Array | string): Promise<void> {
    checkKey(key);
    const copy = Buffer.from(toBuffer(value)); // callers may reuse their buffer
    this.store.set(key, copy);
    for (const w of this.waiters.get(key) ?? []) w(Buffer.from(copy));
    this.waiters.delete(key);
  }

  async get(key: string): Promise<Buffer> {
    checkKey(key);
    const v = this.store.get(key);
    if (v !== undefined) return Buffer.from(v);
    return new Promise(resolve => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }

  async fence(): Promise<void> {}

  async abort(_message: string): Promise<void> {}

  close(): void {}
}

type Reply = { id: number; ok: boolean; value?: string; error?: string };

interface Pending {
  what: string;
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
}

class TcpKv implements KvClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Why no more requests can succeed (launcher gone, or close() called). */
  private dead: Error | null = null;

  private constructor(private readonly socket: Socket, private readonly where: string) {}

  static connect(host: string, port: number, rank: number, secret: string): Promise<TcpKv> {
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      let welcomed = false;
      const fail = (why: string) => {
        if (welcomed) return;
        welcomed = true; // settle once
        socket.destroy();
        reject(new Error(`zcmpi: cannot reach the launcher's key-value service at ${where}: ${why}`));
      };
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
      socket.once('connect', () => socket.write(JSON.stringify({ op: 'hello', rank, secret }) + '\n'));
      socket.on('error', err => fail(err.message));
      socket.once('close', () => fail('connection closed during the handshake (wrong ZCMPI_KV_SECRET or rank?)'));
      let buffered = '';
      const onHandshakeData = (chunk: string) => {
        buffered += chunk;
        const nl = buffered.indexOf('\n');
        if (nl < 0) return;
        let ok = false;
        try { ok = (JSON.parse(buffered.slice(0, nl)) as { op?: unknown }).op === 'welcome'; } catch { /* fall through */ }
        if (!ok) return fail('unexpected handshake reply');
        welcomed = true;
        socket.off('data', onHandshakeData);
        socket.setTimeout(0);
        const client = new TcpKv(socket, where);
        client.attach(buffered.slice(nl + 1));
        resolve(client);
      };
      socket.on('data', onHandshakeData);
    });
  }

  private attach(rest: string): void {
    // Idle, the connection must not keep the rank alive; ref() while requests wait.
    this.socket.unref();
    const lines = new LineSplitter();
    const onData = (chunk: string) => {
      lines.push(chunk, line => this.reply(line));
    };
    this.socket.on('data', onData);
    this.socket.on('close', () => {
      this.fail(new Error(`zcmpi: the launcher went away (key-value connection to ${this.where} closed)`));
    });
    if (rest !== '') onData(rest); // replies that arrived with the welcome
  }

  private reply(line: string): void {
    let msg: Reply;
    try { msg = JSON.parse(line) as Reply; } catch { return; }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.socket.unref();
    p.resolve(msg);
  }

  private fail(err: Error): void {
    if (this.dead === null) this.dead = err;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new Error(`${this.dead.message}; ${p.what} failed`));
  }

  private async request(frame: Record<string, unknown>, what: string): Promise<Reply> {
    if (this.dead !== null) throw new Error(`${this.dead.message}; ${what} failed`);
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      if (this.pending.size === 0) this.socket.ref();
      this.pending.set(id, { what, resolve, reject });
      this.socket.write(JSON.stringify({ ...frame, id }) + '\n');
    });
    if (!reply.ok) throw new Error(`zcmpi: ${what} failed: ${reply.error ?? 'unknown error'}`);
    return reply;
  }

  async put(key: string, value: Uint8Array | string): Promise<void> {
    checkKey(key);
    await this.request({ op: 'put', key, value: toBuffer(value).toString('base64') }, `put '${key}'`);
  }

  async get(key: string): Promise<Buffer> {
    checkKey(key);
    const reply = await this.request({ op: 'get', key }, `get '${key}'`);
    return Buffer.from(reply.value ?? '', 'base64');
  }

  async fence(): Promise<void> {
    await this.request({ op: 'fence' }, 'fence');
  }

  async abort(message: string): Promise<void> {
    await this.request({ op: 'abort', message: String(message) }, 'abort');
  }

  close(): void {
    if (this.dead === null) this.fail(new Error('zcmpi: the key-value client was closed'));
    this.socket.end();
    this.socket.unref();
  }
}

// The job's key-value bootstrap service (PMIx-like put/get/fence), run by the launcher.
// Ranks use it once at startup to publish their transport addresses and find each other;
// it knows nothing about processes or hosts, so it serves local and remote ranks alike.
//
// Wire protocol: TCP, one JSON object per line (UTF-8, '\n'-terminated). Values travel as
// base64 so any bytes fit.
//   client -> server, first frame:  {"op":"hello","rank":R,"secret":"<hex>"}
//   server -> client on success:    {"op":"welcome","size":N}
//     (a wrong secret, a bad rank or anything else first: the connection is closed, logged)
//   client -> server requests, each with a client-chosen integer id:
//     {"op":"put","id":I,"key":K,"value":"<base64>"}   stores (overwrites) K
//     {"op":"get","id":I,"key":K}        answered when K exists (waits for a put)
//     {"op":"fence","id":I}              answered when all N ranks made this many fence calls
//     {"op":"abort","id":I,"message":M}  the rank asks the launcher to end the job
//   server -> client replies: {"id":I,"ok":true[,"value":"<base64>"]} or
//                             {"id":I,"ok":false,"error":"<text>"}
// When the job ends the server fails every waiting request with an error and closes.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { LineSplitter } from '../runtime/line-splitter.js';

/** Longest line accepted before authentication: a hello is small, strangers get no memory. */
const MAX_HELLO_BYTES = 4096;
/** Longest line accepted from an authenticated rank. */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** An unauthenticated connection that says nothing for this long is dropped. */
const HELLO_TIMEOUT_MS = 30_000;

export interface KvServerOptions {
  /** Number of ranks in the job (fences wait for all of them). */
  size: number;
  /** Per-job secret (hex); default 32 random bytes. */
  secret?: string;
  /** Bind address; default 127.0.0.1. Remote ranks need an address they can route to. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** A rank's first authenticated connection. */
  onRankConnected?: (rank: number) => void;
  /** Fence number `count` (1-based) completed for all ranks. */
  onFence?: (count: number) => void;
  /** A rank asked to end the job. */
  onAbort?: (rank: number, message: string) => void;
  /** Diagnostics (refused connections, protocol errors). */
  log?: (message: string) => void;
}

type Reply = { id: number; ok: true; value?: string } | { id: number; ok: false; error: string };

interface Conn {
  socket: Socket;
  rank: number | null;
  /** Requests of this connection not answered yet, so close() can fail them. */
  pending: Set<number>;
}

export function generateSecret(): string {
  return randomBytes(32).toString('hex');
}

function secretMatches(expected: Buffer, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const got = Buffer.from(presented, 'utf8');
  // timingSafeEqual needs equal lengths; compare against ourselves to keep timing flat.
  if (got.length !== expected.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, got);
}

export class KvServer {
  readonly size: number;
  readonly secret: string;
  private readonly secretBytes: Buffer;
  private readonly options: KvServerOptions;
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  private readonly store = new Map<string, string>();
  private readonly getWaiters = new Map<string, Array<{ conn: Conn; id: number }>>();
  private readonly fenceWaiters = new Map<number, Array<{ conn: Conn; id: number }>>();
  private readonly fenceCalls: number[];
  private readonly connected = new Set<number>();
  private completedFences = 0;
  private closed = false;
  private bound: { host: string; port: number } | null = null;

  constructor(options: KvServerOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new Error(`KvServer: size must be a positive integer, got ${options.size}`);
    this.options = options;
    this.size = options.size;
    this.secret = options.secret ?? generateSecret();
    this.secretBytes = Buffer.from(this.secret, 'utf8');
    this.fenceCalls = new Array<number>(options.size).fill(0);
    this.server = createServer(socket => this.accept(socket));
  }

  /** Start listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }> {
    const host = this.options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('KvServer: no TCP address'));
        this.bound = { host, port: addr.port };
        resolve(this.bound);
      });
    });
  }

  get port(): number {
    if (this.bound === null) throw new Error('KvServer: not listening');
    return this.bound.port;
  }

  /** `host:port` (IPv6 bracketed) for ZCMPI_KV_ADDR, with the given host or the bound one. */
  addressFor(host?: string): string {
    let h = host ?? this.bound?.host ?? '127.0.0.1';
    // Bound to every interface: local ranks reach it over loopback.
    if (h === '0.0.0.0') h = '127.0.0.1';
    else if (h === '::') h = '::1';
    return `${h.includes(':') ? `[${h}]` : h}:${this.port}`;
  }

  get fencesCompleted(): number {
    return this.completedFences;
  }

  /** Ranks that have not yet called fence `n` times (for startup-timeout messages). */
  ranksBehindFence(n = 1): number[] {
    const out: number[] = [];
    this.fenceCalls.forEach((calls, rank) => { if (calls < n) out.push(rank); });
    return out;
  }

  get connectedRanks(): ReadonlySet<number> {
    return this.connected;
  }

  /** Fail every waiting request ("the job ended"), drop all connections, stop listening. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const conn of this.conns) {
      for (const id of conn.pending) this.send(conn, { id, ok: false, error: 'the job ended' });
      conn.pending.clear();
      conn.socket.end();
      // Don't let a rank that stopped reading keep the launcher alive.
      setTimeout(() => conn.socket.destroy(), 1000).unref();
    }
    this.getWaiters.clear();
    this.fenceWaiters.clear();
    return new Promise(resolve => this.server.close(() => resolve()));
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, rank: null, pending: new Set() };
    this.conns.add(conn);
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.setTimeout(HELLO_TIMEOUT_MS, () => {
      if (conn.rank === null) {
        this.log(`kv: closed connection from ${peer}: no hello within ${HELLO_TIMEOUT_MS / 1000} s`);
        socket.destroy();
      }
    });
    const lines = new LineSplitter();
    socket.on('data', (chunk: string) => {
      if (!lines.push(chunk, line => this.frame(conn, line, peer))) {
        socket.destroy();
        return;
      }
      const limit = conn.rank === null ? MAX_HELLO_BYTES : MAX_FRAME_BYTES;
      if (lines.pendingLength > limit) {
        this.log(`kv: closed connection from ${peer}: frame longer than ${limit} bytes`);
        socket.destroy();
      }
    });
    socket.on('error', () => { /* reported through 'close'; ranks dying is the job's business */ });
    socket.on('close', () => {
      this.conns.delete(conn);
      conn.pending.clear();
    });
  }

  /** Handle one line; false closes the connection. */
  private frame(conn: Conn, line: string, peer: string): boolean {
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      msg = parsed as Record<string, unknown>;
    } catch {
      this.log(`kv: closed connection from ${peer}${conn.rank === null ? '' : ` (rank ${conn.rank})`}: malformed frame`);
      return false;
    }
    if (conn.rank === null) return this.hello(conn, msg, peer);
    const id = msg.id;
    if (typeof id !== 'number' || !Number.isInteger(id)) {
      this.log(`kv: closed connection from rank ${conn.rank}: request without an integer id`);
      return false;
    }
    const rank = conn.rank;
    switch (msg.op) {
      case 'put': {
        if (typeof msg.key !== 'string' || typeof msg.value !== 'string') return this.reject(conn, id, 'put needs a string key and a base64 value');
        this.store.set(msg.key, msg.value);
        this.send(conn, { id, ok: true });
        const waiters = this.getWaiters.get(msg.key);
        if (waiters) {
          this.getWaiters.delete(msg.key);
          for (const w of waiters) this.answer(w.conn, { id: w.id, ok: true, value: msg.value });
        }
        return true;
      }
      case 'get': {
        if (typeof msg.key !== 'string') return this.reject(conn, id, 'get needs a string key');
        const value = this.store.get(msg.key);
        if (value !== undefined) {
          this.send(conn, { id, ok: true, value });
        } else {
          conn.pending.add(id);
          const list = this.getWaiters.get(msg.key) ?? [];
          list.push({ conn, id });
          this.getWaiters.set(msg.key, list);
        }
        return true;
      }
      case 'fence': {
        const n = ++this.fenceCalls[rank];
        conn.pending.add(id);
        const list = this.fenceWaiters.get(n) ?? [];
        list.push({ conn, id });
        this.fenceWaiters.set(n, list);
        this.completeFences();
        return true;
      }
      case 'abort': {
        const message = typeof msg.message === 'string' ? msg.message : '(no message)';
        this.send(conn, { id, ok: true });
        this.options.onAbort?.(rank, message);
        return true;
      }
      default:
        return this.reject(conn, id, `unknown op ${JSON.stringify(msg.op)}`);
    }
  }

  private hello(conn: Conn, msg: Record<string, unknown>, peer: string): boolean {
    if (msg.op !== 'hello') {
      this.log(`kv: refused connection from ${peer}: first frame is not a hello`);
      return false;
    }
    if (!secretMatches(this.secretBytes, msg.secret)) {
      this.log(`kv: refused connection from ${peer}: wrong secret`);
      return false;
    }
    const rank = msg.rank;
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= this.size) {
      this.log(`kv: refused connection from ${peer}: rank ${JSON.stringify(rank)} is not in 0..${this.size - 1}`);
      return false;
    }
    conn.rank = rank;
    conn.socket.setTimeout(0);
    this.send(conn, { op: 'welcome', size: this.size });
    if (!this.connected.has(rank)) {
      this.connected.add(rank);
      this.options.onRankConnected?.(rank);
    }
    return true;
  }

  private completeFences(): void {
    while (Math.min(...this.fenceCalls) > this.completedFences) {
      const n = ++this.completedFences;
      const waiters = this.fenceWaiters.get(n) ?? [];
      this.fenceWaiters.delete(n);
      for (const w of waiters) this.answer(w.conn, { id: w.id, ok: true });
      this.options.onFence?.(n);
    }
  }

  private reject(conn: Conn, id: number, error: string): boolean {
    this.send(conn, { id, ok: false, error });
    return true;
  }

  /** Reply to a request that was waiting (only if its connection is still there). */
  private answer(conn: Conn, reply: Reply): void {
    if (!conn.pending.delete(reply.id)) return;
    this.send(conn, reply);
  }

  private send(conn: Conn, frame: Reply | { op: 'welcome'; size: number }): void {
    if (!conn.socket.destroyed && conn.socket.writable) conn.socket.write(JSON.stringify(frame) + '\n');
  }
}

// SshStarter: a HostStarter that runs ranks on one remote host over SSH (ssh2, no ssh
// binary). One connection per host; every rank is an exec channel on it, running the
// wrapper of remote-command.ts, which gets the job secret as the first line of the
// channel's stdin and kills the rank's process group when the channel goes away.
//
// sshd limits the session channels of one connection (MaxSessions, default 10). When
// it refuses another channel, the starter opens one more connection to the same host and
// goes on there, so a host can run more ranks than MaxSessions.
import { PassThrough, Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { nodeArgsFor } from '../local-starter.js';
import type { HostStarter, RankExit, RankHandle, RankSpec } from '../rank-starter.js';
import type { ResolvedAuth } from './auth.js';
import { connectSsh, type SshConnection } from './connection.js';
import { encodeData, encodeFrame, FRAME_EOF, FRAME_HEARTBEAT, FRAME_KILL, HEARTBEAT_MS, HEARTBEAT_TIMEOUT_MS } from './frames.js';
import { buildRemoteCommand, FAILED_MARK, STARTED_MARK } from './remote-command.js';

export interface SshStarterOptions {
  /** Host name or address to connect to; also the name in messages and output tags. */
  host: string;
  port?: number;
  /** Remote user; default the launcher's user name. */
  user: string;
  auth: ResolvedAuth;
  knownHostsFile: string;
  acceptNew?: boolean;
  /** Remote node binary: a name looked up on the remote PATH (default "node") or a path. */
  node?: string;
  /** Connect + handshake + authentication limit; default 20 s. */
  connectTimeoutMs?: number;
  /** SSH keepalive period (default 2 s) and misses before the host counts as lost (3). */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Node options before the program (default: the tsx loader for TypeScript programs). */
  nodeArgs?: (program: string) => string[];
  /** Launcher warnings, one line each. */
  warn?: (message: string) => void;
}

/** Milliseconds spent per phase (for bench/launch.ts). */
export interface SshTiming {
  tcpMs: number;
  handshakeMs: number;
  /** Per rank: exec request sent -> wrapper reported started. */
  execMs: number[];
  /** Per rank, epoch milliseconds: when start() sent the exec request, when the wrapper reported. */
  execSentAt: number[];
  startedAt: number[];
}

const epochMs = () => performance.timeOrigin + performance.now();

interface PooledConnection {
  conn: SshConnection;
  open: number;
  /** Channels sshd accepted before refusing one more (MaxSessions), once known. */
  capacity: number;
  lost: string | null;
}

const MAX_START_ATTEMPTS = 3;

function describeExit(code: number | null | undefined, signal: string | undefined): string {
  if (signal) return `killed by ${signal}`;
  if (code !== undefined && code !== null) return `exited with status ${code}`;
  return 'closed without an exit status';
}

export class SshStarter implements HostStarter {
  readonly host: string;
  /** This machine's address as seen from the host (the SSH connection's local address). */
  private bootstrapAddr: string;
  readonly timing: SshTiming;
  private readonly o: SshStarterOptions;
  private readonly pool: PooledConnection[] = [];
  private readonly channels = new Set<ClientChannel>();
  private extra: Promise<PooledConnection> | null = null;
  private closing = false;
  private heartbeat: NodeJS.Timeout | null = null;

  private constructor(o: SshStarterOptions, first: SshConnection) {
    this.o = o;
    this.host = o.host;
    this.bootstrapAddr = first.localAddress;
    this.timing = { tcpMs: first.timing.tcpMs, handshakeMs: first.timing.handshakeMs, execMs: [], execSentAt: [], startedAt: [] };
    this.adopt(first);
  }

  get bootstrapAddress(): string {
    return this.bootstrapAddr;
  }

  /** Overrides the address ranks on this host use to reach the launcher (--bootstrap-addr). */
  setBootstrapAddress(addr: string): void {
    this.bootstrapAddr = addr;
  }

  /** Connects to the host (host key check, authentication); rejects with a one-line error. */
  static async connect(o: SshStarterOptions): Promise<SshStarter> {
    const conn = await SshStarter.dial(o);
    return new SshStarter(o, conn);
  }

  private static dial(o: SshStarterOptions): Promise<SshConnection> {
    return connectSsh({
      host: o.host,
      port: o.port ?? 22,
      username: o.user,
      auth: o.auth,
      knownHostsFile: o.knownHostsFile,
      acceptNew: o.acceptNew ?? false,
      timeoutMs: o.connectTimeoutMs ?? 20_000,
      keepaliveIntervalMs: o.keepaliveIntervalMs ?? 2000,
      keepaliveCountMax: o.keepaliveCountMax ?? 3,
      warn: o.warn ?? (() => {}),
    });
  }

  private adopt(conn: SshConnection): PooledConnection {
    const pc: PooledConnection = { conn, open: 0, capacity: Infinity, lost: null };
    const lose = (why: string) => { if (pc.lost === null) pc.lost = why; };
    conn.client.on('error', (e: Error) => lose(/keepalive/i.test(e.message) ? `no answer to SSH keepalives (${e.message})` : e.message));
    conn.client.on('end', () => lose('the server closed the connection'));
    conn.client.on('close', () => lose('the connection closed'));
    this.pool.push(pc);
    return pc;
  }

  /** A connection with room for one more channel, opening another one when all are full. */
  private async connectionWithRoom(): Promise<PooledConnection> {
    const live = this.pool.filter(p => p.lost === null);
    if (live.length === 0) {
      throw new Error(`the SSH connection to ${this.host} was lost: ${this.pool[0]?.lost ?? 'not connected'}`);
    }
    const free = live.find(p => p.open < p.capacity);
    if (free) return free;
    this.extra ??= SshStarter.dial(this.o).then(c => this.adopt(c)).finally(() => { this.extra = null; });
    return this.extra;
  }

  private exec(pc: PooledConnection, command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      pc.open++;
      pc.conn.client.exec(command, (err, channel) => {
        if (err) {
          pc.open--;
          reject(err);
        } else {
          channel.once('close', () => { pc.open--; });
          resolve(channel);
        }
      });
    });
  }

  async start(spec: RankSpec): Promise<RankHandle> {
    if (this.closing) throw new Error(`${this.host}: the starter is closed`);
    const secret = spec.env.ZCMPI_KV_SECRET;
    if (secret === undefined || /[\r\n]/.test(secret)) throw new Error('internal error: a one-line ZCMPI_KV_SECRET is required');
    const env = { ...spec.env };
    delete env.ZCMPI_KV_SECRET;
    const command = buildRemoteCommand({
      cwd: spec.cwd,
      node: this.o.node,
      env,
      nodeOptions: spec.launch ? spec.launch.nodeOptions : (this.o.nodeArgs ?? nodeArgsFor)(spec.program),
      program: spec.launch ? spec.launch.file : spec.program,
      args: spec.args,
      stdin: spec.stdin,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    });

    const t0 = performance.now();
    this.timing.execSentAt[spec.rank] = epochMs();
    let channel: ClientChannel | undefined;
    let pc: PooledConnection | undefined;
    for (let attempt = 1; channel === undefined; attempt++) {
      pc = await this.connectionWithRoom();
      try {
        channel = await this.exec(pc, command);
      } catch (e) {
        const msg = (e as Error).message;
        if (pc.lost !== null) throw new Error(`the SSH connection to ${this.host} was lost: ${pc.lost}`);
        // Refused channel on a connection that has some: the per-connection session limit.
        if (pc.open > 0 && attempt < MAX_START_ATTEMPTS) {
          pc.capacity = Math.min(pc.capacity, pc.open);
          continue;
        }
        throw new Error(`sshd on ${this.host} refused a session channel (${msg}); check MaxSessions in its sshd_config`);
      }
    }
    const conn = pc!;
    this.channels.add(channel);
    channel.once('close', () => this.channels.delete(channel!));
    channel.write(secret + '\n');
    this.startHeartbeat();
    return this.awaitStarted(spec, channel, conn, t0);
  }

  /** Every channel gets a heartbeat frame each HEARTBEAT_MS (see frames.ts). */
  private startHeartbeat(): void {
    if (this.heartbeat !== null) return;
    const beat = encodeFrame(FRAME_HEARTBEAT);
    this.heartbeat = setInterval(() => {
      for (const ch of this.channels) {
        // Skip a channel whose window is full: it has data queued, which the wrapper
        // counts as a sign of life too once it arrives.
        if (ch.writable && ch.writableLength === 0) ch.write(beat);
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Reads stderr up to the wrapper's first report; resolves with the handle or rejects. */
  private awaitStarted(spec: RankSpec, channel: ClientChannel, pc: PooledConnection, t0: number): Promise<RankHandle> {
    const stderr = new PassThrough();
    let exitCode: number | null | undefined;
    let exitSignal: string | undefined;
    channel.on('exit', (code: number | null, signal?: string) => {
      exitCode = code;
      exitSignal = signal;
    });
    const exited = new Promise<RankExit>(resolve => {
      channel.once('close', () => {
        if (exitCode !== undefined || exitSignal !== undefined) {
          resolve({ code: exitSignal ? null : exitCode ?? null, signal: (exitSignal as NodeJS.Signals | undefined) ?? null });
        } else if (pc.lost !== null) {
          resolve({ code: null, signal: null, error: `the SSH connection to ${this.host} was lost (${pc.lost})` });
        } else {
          // A close without exit status also happens when the connection is going down.
          setTimeout(() => resolve({
            code: null, signal: null,
            error: pc.lost !== null ? `the SSH connection to ${this.host} was lost (${pc.lost})` : `the SSH channel to ${this.host} closed without an exit status`,
          }), 50);
        }
      });
    });

    return new Promise<RankHandle>((resolve, reject) => {
      let head = Buffer.alloc(0);
      let started = false;
      const preamble: Buffer[] = [];
      const onData = (d: Buffer) => {
        if (started) return;
        head = Buffer.concat([head, d]);
        for (;;) {
          const nl = head.indexOf(0x0a);
          if (nl < 0) return;
          const line = head.subarray(0, nl).toString('utf8').replace(/\r$/, '');
          const rest = head.subarray(nl + 1);
          head = rest;
          if (line.startsWith(STARTED_MARK)) {
            started = true;
            channel.stderr.removeListener('data', onData);
            channel.stderr.removeListener('end', onEnd);
            this.timing.execMs[spec.rank] = performance.now() - t0;
            this.timing.startedAt[spec.rank] = epochMs();
            const pid = Number(line.slice(STARTED_MARK.length).trim()) || undefined;
            for (const p of preamble) stderr.write(p);
            if (rest.length) stderr.write(rest);
            channel.stderr.pipe(stderr);
            resolve(this.makeHandle(spec, channel, stderr, exited, pid));
            return;
          }
          if (line.startsWith(FAILED_MARK)) {
            started = true;
            channel.stderr.removeListener('data', onData);
            // Nobody will read this channel: drain it so that it can close.
            channel.resume();
            channel.stderr.resume();
            reject(new Error(line.slice(FAILED_MARK.length).trim()));
            return;
          }
          preamble.push(Buffer.from(line + '\n'));
        }
      };
      const onEnd = () => {
        if (started) return;
        started = true;
        channel.resume();
        void exited.then(exit => {
          const text = Buffer.concat([...preamble, head]).toString('utf8').trim().split('\n').filter(Boolean);
          const why = exit.error ?? `the remote command ${describeExit(exit.code, exit.signal ?? undefined)} before the rank started`;
          reject(new Error(text.length ? `${text[text.length - 1]} (${why})` : why));
        });
      };
      channel.stderr.on('data', onData);
      // A channel that closes before the wrapper reported: its stdout has nothing for
      // anyone, and must be drained for 'close' to come.
      channel.once('exit', () => { if (!started) channel.resume(); });
      channel.stderr.once('end', onEnd);
      channel.once('close', onEnd);
    });
  }

  private makeHandle(spec: RankSpec, channel: ClientChannel, stderr: PassThrough, exited: Promise<RankExit>, pid: number | undefined): RankHandle {
    let closed = false;
    channel.once('close', () => { closed = true; });
    const send = (frame: Buffer, cb?: (err?: Error | null) => void): boolean => {
      if (closed || !channel.writable) {
        cb?.();
        return true;
      }
      return channel.write(frame, cb);
    };
    let stdin: Writable | null = null;
    if (spec.stdin) {
      stdin = new Writable({
        write(chunk: Buffer, _enc, cb) {
          const frames = encodeData(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
          frames.forEach((f, i) => send(f, i === frames.length - 1 ? () => cb() : undefined));
        },
        final(cb) {
          send(encodeFrame(FRAME_EOF), () => cb());
        },
      });
    }
    return {
      rank: spec.rank,
      host: this.host,
      pid,
      stdout: channel,
      stderr,
      stdin,
      exited,
      kill: (signal: NodeJS.Signals) => {
        send(encodeFrame(FRAME_KILL, Buffer.from(signal)));
      },
    };
  }

  /**
   * Ends what is left of the job on this host, then the connections. Every wrapper still
   * running gets SIGKILL for its group; closing the connections would kill them anyway
   * (end of file on their stdin), this only makes it prompt.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    const open = [...this.channels];
    for (const ch of open) {
      try { ch.write(encodeFrame(FRAME_KILL, Buffer.from('SIGKILL'))); } catch { /* closed */ }
    }
    await Promise.race([
      Promise.all(open.map(ch => new Promise<void>(r => { if (!this.channels.has(ch)) r(); else ch.once('close', () => r()); }))),
      new Promise<void>(r => setTimeout(r, 5000).unref()),
    ]);
    await Promise.all(this.pool.map(pc => new Promise<void>(resolve => {
      if (pc.lost !== null) {
        pc.conn.socket.destroy();
        return resolve();
      }
      const t = setTimeout(() => { pc.conn.socket.destroy(); resolve(); }, 2000);
      t.unref();
      pc.conn.client.once('close', () => { clearTimeout(t); resolve(); });
      pc.conn.client.end();
    })));
  }
}

// SshStarter: a HostStarter that runs ranks on one remote host over SSH (ssh2, no ssh
// binary). One connection per host, and on it one exec channel running the host's
// daemon (remote-command.ts), started with the first rank: every rank of the host is a
// request to that daemon, so the remote login shell and the daemon's Node startup are
// paid once per host. The channel carries the job secret (its first stdin line), the
// ranks' start requests, stdin and signals one way, and their output and exit statuses
// the other (frames.ts).
import { PassThrough, Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { nodeArgsFor } from '../local-starter.js';
import type { HostStarter, RankExit, RankHandle, RankSpec } from '../rank-starter.js';
import type { ResolvedAuth } from './auth.js';
import { connectSsh, type SshConnection } from './connection.js';
import {
  ALL_RANKS, encodeBundle, encodeData, encodeFrame, encodeRankFrame, FrameDecoder, FRAME_EOF, FRAME_EXIT, FRAME_FAILED, FRAME_HEARTBEAT,
  FRAME_KILL, FRAME_START, FRAME_STARTED, FRAME_STDERR, FRAME_STDOUT, HEARTBEAT_MS, HEARTBEAT_TIMEOUT_MS,
} from './frames.js';
import { buildDaemonCommand, DAEMON_MARK, FAILED_MARK, type RankStartRequest } from './remote-command.js';

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
  /** Exec request sent -> daemon running (login shell + the daemon's Node startup), once per host. */
  daemonMs: number;
  /** Per rank: start request sent -> rank process started (its pid is known). */
  execMs: number[];
  /** Per rank, epoch milliseconds: when start() sent the request, when the rank was running. */
  execSentAt: number[];
  startedAt: number[];
}

const epochMs = () => performance.timeOrigin + performance.now();

function describeExit(code: number | null | undefined, signal: string | undefined): string {
  if (signal) return `was killed by ${signal}`;
  if (code !== undefined && code !== null) return `exited with status ${code}`;
  return 'closed without an exit status';
}

/** One rank the daemon was asked to start. */
interface RemoteRank {
  spec: RankSpec;
  t0: number;
  started: (pid: number) => void;
  failed: (why: Error) => void;
  stdout: PassThrough;
  stderr: PassThrough;
  exit: (e: RankExit) => void;
  running: boolean;
  done: boolean;
}

/** The daemon's channel once it reported itself. */
interface Daemon {
  channel: ClientChannel;
  pid: number;
}

export class SshStarter implements HostStarter {
  readonly host: string;
  /** This machine's address as seen from the host (the SSH connection's local address). */
  private bootstrapAddr: string;
  readonly timing: SshTiming;
  private readonly o: SshStarterOptions;
  private readonly conn: SshConnection;
  /** Why the connection is gone, once it is. */
  private lost: string | null = null;
  private daemon: Promise<Daemon> | null = null;
  private channel: ClientChannel | null = null;
  /** Called once the daemon's channel closed and its ranks were accounted for. */
  private emptied: (() => void) | null = null;
  /** Set when the daemon's channel closed: why the ranks still running are lost. */
  private daemonGone: string | null = null;
  private readonly ranks = new Map<number, RemoteRank>();
  private readonly bundlesSent = new Set<string>();
  private closing = false;
  private heartbeat: NodeJS.Timeout | null = null;

  private constructor(o: SshStarterOptions, conn: SshConnection) {
    this.o = o;
    this.host = o.host;
    this.conn = conn;
    this.bootstrapAddr = conn.localAddress;
    this.timing = { tcpMs: conn.timing.tcpMs, handshakeMs: conn.timing.handshakeMs, daemonMs: NaN, execMs: [], execSentAt: [], startedAt: [] };
    const lose = (why: string) => { if (this.lost === null) this.lost = why; };
    conn.client.on('error', (e: Error) => lose(/keepalive/i.test(e.message) ? `no answer to SSH keepalives (${e.message})` : e.message));
    conn.client.on('end', () => lose('the server closed the connection'));
    conn.client.on('close', () => lose('the connection closed'));
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
    const conn = await connectSsh({
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
    return new SshStarter(o, conn);
  }

  private lostMessage(): string {
    return `the SSH connection to ${this.host} was lost (${this.lost})`;
  }

  /** Starts the host's daemon (once): exec channel, secret, wait for its first line. */
  private startDaemon(cwd: string, secret: string): Promise<Daemon> {
    const command = buildDaemonCommand({ cwd, node: this.o.node, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
    const t0 = performance.now();
    return new Promise<Daemon>((resolve, reject) => {
      this.conn.client.exec(command, (err, channel) => {
        if (err) {
          reject(new Error(this.lost !== null ? this.lostMessage() : `sshd on ${this.host} refused a session channel (${err.message})`));
          return;
        }
        this.channel = channel;
        channel.write(secret + '\n');
        let exitCode: number | null | undefined;
        let exitSignal: string | undefined;
        channel.on('exit', (code: number | null, signal?: string) => { exitCode = code; exitSignal = signal; });

        // stderr: the login shell's and the daemon's own words, passed on; a FAILED line
        // (cwd or node missing there) is why nothing can start on this host.
        let failedLine: string | null = null;
        let errHead = '';
        channel.stderr.on('data', (d: Buffer) => {
          errHead += d.toString('utf8');
          let nl: number;
          while ((nl = errHead.indexOf('\n')) >= 0) {
            const line = errHead.slice(0, nl).replace(/\r$/, '');
            errHead = errHead.slice(nl + 1);
            if (line.startsWith(FAILED_MARK)) failedLine ??= line.slice(FAILED_MARK.length).trim();
            else process.stderr.write(line + '\n');
          }
        });

        let ready = false;
        let head = Buffer.alloc(0);
        const decoder = new FrameDecoder();
        const onFrames = (chunk: Buffer) => {
          for (const f of decoder.push(chunk)) this.onFrame(f.type, f.payload, channel);
        };
        channel.on('data', (d: Buffer) => {
          if (ready) return onFrames(d);
          head = Buffer.concat([head, d]);
          for (;;) {
            const nl = head.indexOf(0x0a);
            if (nl < 0) return;
            const line = head.subarray(0, nl).toString('utf8').replace(/\r$/, '');
            const rest = head.subarray(nl + 1);
            head = rest;
            if (line.startsWith(DAEMON_MARK)) {
              ready = true;
              this.timing.daemonMs = performance.now() - t0;
              resolve({ channel, pid: Number(line.slice(DAEMON_MARK.length).trim()) });
              if (rest.length) onFrames(rest);
              return;
            }
            // The login shell's stdout before the daemon ran (rc files that print).
            process.stderr.write(line + '\n');
          }
        });
        channel.once('close', () => {
          // Without an exit status the connection itself may be going down: give its
          // 'close' a moment, so the ranks are reported lost with the connection's reason.
          const wait = exitSignal || (exitCode !== undefined && exitCode !== null) ? 0 : 50;
          setTimeout(() => {
            const how = exitSignal || (exitCode !== undefined && exitCode !== null)
              ? `the zcmpi daemon on ${this.host} ${describeExit(exitCode, exitSignal)}`
              : `the zcmpi daemon's channel to ${this.host} closed`;
            const why = failedLine ?? (this.lost !== null ? this.lostMessage() : how);
            this.daemonGone = why;
            if (!ready) reject(new Error(why));
            for (const r of this.ranks.values()) this.rankLost(r, why);
            this.emptied?.();
          }, wait);
        });
      });
    });
  }

  private onFrame(type: number, payload: Buffer, channel: ClientChannel): void {
    if (payload.length < 4) return;
    const r = this.ranks.get(payload.readUInt32BE(0));
    if (!r) return;
    const rest = payload.subarray(4);
    switch (type) {
      case FRAME_STARTED:
        r.running = true;
        r.started(Number(rest.toString()));
        break;
      case FRAME_FAILED:
        r.done = true;
        this.ranks.delete(r.spec.rank);
        r.failed(new Error(rest.toString()));
        break;
      case FRAME_STDOUT:
      case FRAME_STDERR: {
        const s = type === FRAME_STDOUT ? r.stdout : r.stderr;
        // Backpressure: stop reading the daemon's channel until this rank's reader caught up.
        if (!s.write(rest)) {
          channel.pause();
          s.once('drain', () => channel.resume());
        }
        break;
      }
      case FRAME_EXIT: {
        const e = JSON.parse(rest.toString()) as { code: number | null; signal: NodeJS.Signals | null };
        r.done = true;
        this.ranks.delete(r.spec.rank);
        r.stdout.end();
        r.stderr.end();
        r.exit({ code: e.signal ? null : e.code, signal: e.signal ?? null });
        break;
      }
    }
  }

  /** A rank the daemon can no longer report on. */
  private rankLost(r: RemoteRank, why: string): void {
    if (r.done) return;
    r.done = true;
    this.ranks.delete(r.spec.rank);
    r.stdout.end();
    r.stderr.end();
    if (!r.running) r.failed(new Error(why));
    else r.exit({ code: null, signal: null, error: why });
  }

  private send(frame: Buffer, cb?: () => void): boolean {
    const ch = this.channel;
    if (ch === null || !ch.writable || this.daemonGone !== null) {
      cb?.();
      return true;
    }
    return ch.write(frame, cb);
  }

  async start(spec: RankSpec): Promise<RankHandle> {
    if (this.closing) throw new Error(`${this.host}: the starter is closed`);
    if (this.lost !== null) throw new Error(this.lostMessage());
    const secret = spec.env.ZCMPI_KV_SECRET;
    if (secret === undefined || /[\r\n]/.test(secret)) throw new Error('internal error: a one-line ZCMPI_KV_SECRET is required');
    if (this.ranks.has(spec.rank)) throw new Error(`internal error: rank ${spec.rank} started twice on ${this.host}`);
    const t0 = performance.now();
    this.timing.execSentAt[spec.rank] = epochMs();
    this.daemon ??= this.startDaemon(spec.cwd, secret);
    this.startHeartbeat();
    await this.daemon;
    if (this.daemonGone !== null) throw new Error(this.daemonGone);

    const env = { ...spec.env };
    delete env.ZCMPI_KV_SECRET;
    const launch = spec.launch;
    const request: RankStartRequest = {
      env,
      program: spec.program,
      file: launch ? launch.file : spec.program,
      nodeOptions: launch ? launch.nodeOptions : (this.o.nodeArgs ?? nodeArgsFor)(spec.program),
      args: spec.args,
      stdin: spec.stdin,
    };
    if (launch?.bundle) {
      request.bundle = launch.bundle.hash;
      if (!this.bundlesSent.has(launch.bundle.hash)) {
        this.bundlesSent.add(launch.bundle.hash);
        this.send(encodeBundle(launch.bundle.hash, launch.file, spec.program, launch.bundle.bytes));
      }
    }

    return new Promise<RankHandle>((resolve, reject) => {
      let exitResolve: (e: RankExit) => void = () => {};
      const exited = new Promise<RankExit>(res => { exitResolve = res; });
      const r: RemoteRank = {
        spec, t0, running: false, done: false,
        stdout: new PassThrough(), stderr: new PassThrough(),
        exit: e => exitResolve(e),
        failed: reject,
        started: pid => {
          this.timing.execMs[spec.rank] = performance.now() - t0;
          this.timing.startedAt[spec.rank] = epochMs();
          resolve(this.makeHandle(spec, r, exited, pid));
        },
      };
      this.ranks.set(spec.rank, r);
      this.send(encodeRankFrame(FRAME_START, spec.rank, JSON.stringify(request)));
    });
  }

  /** The daemon gets a heartbeat frame each HEARTBEAT_MS (see frames.ts). */
  private startHeartbeat(): void {
    if (this.heartbeat !== null) return;
    const beat = encodeFrame(FRAME_HEARTBEAT);
    this.heartbeat = setInterval(() => {
      // Skip while the window is full: queued data counts as a sign of life once it arrives.
      const ch = this.channel;
      if (ch !== null && ch.writable && ch.writableLength === 0) ch.write(beat);
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private makeHandle(spec: RankSpec, r: RemoteRank, exited: Promise<RankExit>, pid: number): RankHandle {
    const rank = spec.rank;
    let stdin: Writable | null = null;
    if (spec.stdin) {
      const send = (f: Buffer, cb?: () => void) => (r.done ? (cb?.(), true) : this.send(f, cb));
      stdin = new Writable({
        write(chunk: Buffer, _enc, cb) {
          const frames = encodeData(rank, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
          frames.forEach((f, i) => send(f, i === frames.length - 1 ? () => cb() : undefined));
        },
        final(cb) {
          send(encodeRankFrame(FRAME_EOF, rank), () => cb());
        },
      });
    }
    return {
      rank,
      host: this.host,
      pid: Number.isFinite(pid) && pid > 0 ? pid : undefined,
      stdout: r.stdout,
      stderr: r.stderr,
      stdin,
      exited,
      kill: (signal: NodeJS.Signals) => {
        if (!r.done) this.send(encodeRankFrame(FRAME_KILL, rank, signal));
      },
    };
  }

  /**
   * Ends what is left of the job on this host, then the connection: every rank still
   * running gets SIGKILL for its group, and the end of the daemon's stdin ends the daemon
   * (it would end the ranks too; the SIGKILL only makes it prompt).
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    const ch = this.channel;
    if (ch !== null) {
      try {
        if (this.ranks.size > 0) ch.write(encodeRankFrame(FRAME_KILL, ALL_RANKS, 'SIGKILL'));
        ch.end();
      } catch { /* closed */ }
      await new Promise<void>(r => {
        if (this.daemonGone !== null) return r();
        const t = setTimeout(r, 5000);
        t.unref();
        this.emptied = () => { clearTimeout(t); r(); };
      });
    }
    await new Promise<void>(resolve => {
      if (this.lost !== null) {
        this.conn.socket.destroy();
        return resolve();
      }
      const t = setTimeout(() => { this.conn.socket.destroy(); resolve(); }, 2000);
      t.unref();
      this.conn.client.once('close', () => { clearTimeout(t); resolve(); });
      this.conn.client.end();
    });
  }
}

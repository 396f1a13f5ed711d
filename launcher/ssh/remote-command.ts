// The command line the one exec channel per host runs, and the per-host daemon it starts
// (plain JavaScript, run with `node -e`), which starts and watches all of that host's
// ranks, like Open MPI's orted: the login shell and the daemon's Node startup are paid
// once per host, not once per rank.
//
//   cd -- CWD || fail; NODE=$(command -v NODE) || fail;
//   exec env -i "PATH=$PATH" "HOME=$HOME" "$NODE" -e DAEMON -- zcmpi-daemon SILENCE-MS
//
// The daemon (protocol in frames.ts)
//  - reads the job secret as the first line of the channel's stdin (never in any argv; it
//    reaches each rank through its environment, ZCMPI_KV_SECRET), then writes
//    "ZCMPI-DAEMON <pid>" as its first stdout line: whatever the login shell printed before
//    it is not protocol, everything after it is frames;
//  - takes a compiled program's bundle ('B', once) and rank start requests ('S': env,
//    node options, file, args), checks that the program exists there, starts each rank in
//    a process group of its own with a lifeline pipe on fd 3 (ZCMPI_LAUNCHER_FD: should
//    the daemon be killed outright, every rank reads end of file there and ends itself),
//    and answers 'P' pid or 'F' reason;
//  - sends each rank's stdout and stderr back as 'O'/'R' frames, and 'X' with how the rank
//    ended (code or signal) once its output is drained, after SIGKILLing whatever the rank
//    left in its process group (grandchildren);
//  - delivers 'D'/'E' (a rank's stdin) and 'K' (a signal for one rank's process group, or
//    every rank's);
//  - watches for the launcher going away: end of file on stdin (channel closed, connection
//    dropped, sshd killed), its parent changing (sshd session gone), no frame for
//    SILENCE-MS (a network partition): every rank's process group gets SIGTERM, SIGKILL
//    2 s later, and the daemon exits. End of file with no rank running is the normal end.
import { RANK_GROUP_PERL, RANK_GROUP_SCRIPT } from '../rank-group.js';
import { shQuote } from './quote.js';

export const DAEMON_MARK = 'ZCMPI-DAEMON';
export const FAILED_MARK = 'ZCMPI-FAILED';
export const FAILED_STATUS = 127;
/** The first daemon argument: names the daemon in `ps`. */
export const DAEMON_ARGV_NAME = 'zcmpi-daemon';

/** Grace between SIGTERM and SIGKILL when the daemon loses its launcher. */
export const DAEMON_GRACE_MS = 2000;
/** After a rank exited, how long its output may take to drain before 'X' goes anyway. */
export const DRAIN_MS = 1000;

export const DAEMON_SOURCE = `"use strict";
const cp = require("child_process"), fs = require("fs"), os = require("os"), net = require("net"), path = require("path"), crypto = require("crypto");
const silenceMs = Number(process.argv[2]);
const ALL = 0xffffffff;
const out = new net.Socket({ fd: 1, readable: false, writable: true });
out.on("error", () => gone());
const ranks = new Map();
const bundles = new Map();
let buf = Buffer.alloc(0), secret = null, dying = false, ended = false, lastRx = Date.now(), outBlocked = false;
const ppid = process.ppid;
const frame = (t, rank, payload) => {
  const p = typeof payload === "string" ? Buffer.from(payload) : payload || Buffer.alloc(0);
  const h = Buffer.alloc(9);
  h[0] = t; h.writeUInt32BE(p.length + 4, 1); h.writeUInt32BE(rank, 5);
  if (!out.write(Buffer.concat([h, p])) && !outBlocked) {
    outBlocked = true;
    for (const r of ranks.values()) { if (r.child.stdout) r.child.stdout.pause(); if (r.child.stderr) r.child.stderr.pause(); }
    out.once("drain", () => {
      outBlocked = false;
      for (const r of ranks.values()) { if (r.child.stdout) r.child.stdout.resume(); if (r.child.stderr) r.child.stderr.resume(); }
    });
  }
};
const killGroup = (r, sig) => { if (r.pgid) { try { process.kill(-r.pgid, sig); } catch (e) {} } };
const killAll = (sig) => { for (const r of ranks.values()) killGroup(r, sig); };
const gone = () => {
  if (dying) return;
  dying = true;
  if (ranks.size === 0) process.exit(ended ? 0 : 1);
  killAll("SIGTERM");
  setTimeout(() => { killAll("SIGKILL"); process.exit(1); }, ${DAEMON_GRACE_MS});
};
const finish = (r) => {
  if (r.reported || !r.exit || (!r.drained && !r.drainTimeout)) return;
  r.reported = true;
  frame(0x58, r.rank, JSON.stringify(r.exit));
  ranks.delete(r.rank);
  if (ranks.size === 0 && (ended || dying)) out.end(() => process.exit(ended && !dying ? 0 : 1));
};
const fail = (rank, m) => frame(0x46, rank, m);
const sha256 = (b) => crypto.createHash("sha256").update(b).digest("hex");
const putBundle = (p) => {
  const hl = p.readUInt32BE(0);
  const head = JSON.parse(p.subarray(4, 4 + hl).toString());
  const bytes = p.subarray(4 + hl);
  if (sha256(bytes) !== head.hash) return;
  // The launcher's own copy when the filesystem is shared, else a private one here.
  try { if (sha256(fs.readFileSync(head.path)) === head.hash) { bundles.set(head.hash, head.path); return; } } catch (e) {}
  try {
    const uid = typeof process.getuid === "function" ? process.getuid() : "user";
    const file = path.join(os.tmpdir(), "zcmpi-bundles-" + uid, head.hash, head.program + ".mjs");
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = file + "." + process.pid + ".tmp";
      fs.writeFileSync(tmp, bytes, { mode: 0o600 });
      fs.renameSync(tmp, file);
    }
    bundles.set(head.hash, file);
  } catch (e) { bundles.set(head.hash, new Error("cannot store the compiled program: " + e.message)); }
};
const start = (rank, s) => {
  if (dying) return fail(rank, "the daemon is ending");
  try { fs.accessSync(s.program, fs.constants.R_OK); } catch (e) {
    return fail(rank, (e.code === "ENOENT" ? "program not found: " : "cannot read program: ") + s.program);
  }
  let file = s.file;
  if (s.bundle) {
    file = bundles.get(s.bundle);
    if (file instanceof Error) return fail(rank, file.message);
    if (!file) return fail(rank, "internal error: no compiled program " + s.bundle);
  }
  for (let i = 0; i + 1 < s.nodeOptions.length; i++) {
    if (s.nodeOptions[i] !== "--import") continue;
    const spec = s.nodeOptions[i + 1];
    const p = spec.startsWith("file://") ? require("url").fileURLToPath(spec) : spec;
    if (p.startsWith("/") && !fs.existsSync(p)) return fail(rank, "TypeScript loader not found: " + p + " (zcmpi must be at the same path on every host)");
  }
  const env = Object.assign({}, process.env, s.env, { ZCMPI_KV_SECRET: secret, ZCMPI_LAUNCHER_FD: "3" });
  let child;
  // A process group of its own inside the daemon's session (launcher/rank-group.ts), so this
  // host's ranks share one scheduler autogroup; without perl, a session of its own.
  const argv = s.nodeOptions.concat([file], s.args);
  const perl = fs.existsSync(${JSON.stringify(RANK_GROUP_PERL)});
  try {
    child = perl
      ? cp.spawn(${JSON.stringify(RANK_GROUP_PERL)}, ["-e", ${JSON.stringify(RANK_GROUP_SCRIPT)}, process.execPath].concat(argv),
        { stdio: [s.stdin ? "pipe" : "ignore", "pipe", "pipe", "pipe"], detached: false, env })
      : cp.spawn(process.execPath, argv, { stdio: [s.stdin ? "pipe" : "ignore", "pipe", "pipe", "pipe"], detached: true, env });
  } catch (e) { return fail(rank, "cannot start " + process.execPath + ": " + e.message); }
  const r = { rank, child, pgid: 0, exit: null, drained: false, drainTimeout: false, reported: false, open: 2 };
  ranks.set(rank, r);
  if (child.stdio[3]) child.stdio[3].on("error", () => {});
  if (child.stdin) child.stdin.on("error", () => {});
  child.on("error", (e) => {
    if (r.pgid) return;
    ranks.delete(rank);
    fail(rank, "cannot start " + process.execPath + ": " + e.message);
  });
  child.on("spawn", () => { r.pgid = child.pid; frame(0x50, rank, String(child.pid)); if (outBlocked) { child.stdout.pause(); child.stderr.pause(); } });
  const ended1 = () => { if (--r.open === 0) { r.drained = true; finish(r); } };
  child.stdout.on("data", (d) => frame(0x4f, rank, d));
  child.stderr.on("data", (d) => frame(0x52, rank, d));
  child.stdout.on("close", ended1);
  child.stderr.on("close", ended1);
  child.on("exit", (code, sig) => {
    // Grandchildren must not outlive the rank (and must not hold its pipes open).
    killGroup(r, "SIGKILL");
    r.exit = { code: sig ? null : code, signal: sig || null };
    setTimeout(() => { r.drainTimeout = true; finish(r); }, ${DRAIN_MS}).unref();
    finish(r);
  });
};
const onFrame = (t, p) => {
  if (t === 0x48) return;
  if (t === 0x42) return putBundle(p);
  const rank = p.readUInt32BE(0), rest = p.subarray(4);
  if (t === 0x53) return start(rank, JSON.parse(rest.toString()));
  if (t === 0x4b) {
    const sig = rest.toString();
    if (rank === ALL) return killAll(sig);
    const r = ranks.get(rank);
    if (r) killGroup(r, sig);
    return;
  }
  const r = ranks.get(rank), si = r && r.child.stdin;
  if (!si || si.writableEnded) return;
  if (t === 0x44) {
    if (!si.write(rest)) { process.stdin.pause(); si.once("drain", () => { lastRx = Date.now(); process.stdin.resume(); }); }
  } else if (t === 0x45) si.end();
};
process.stdin.on("data", (d) => {
  lastRx = Date.now();
  buf = buf.length ? Buffer.concat([buf, d]) : d;
  if (secret === null) {
    const nl = buf.indexOf(10);
    if (nl < 0) return;
    secret = buf.subarray(0, nl).toString();
    buf = buf.subarray(nl + 1);
    out.write("${DAEMON_MARK} " + process.pid + "\\n");
  }
  while (buf.length >= 5) {
    const len = buf.readUInt32BE(1);
    if (buf.length < 5 + len) break;
    const t = buf[0], p = buf.subarray(5, 5 + len);
    buf = buf.subarray(5 + len);
    onFrame(t, p);
  }
});
const eof = () => { ended = true; if (ranks.size === 0 && !dying) out.end(() => process.exit(0)); else gone(); };
process.stdin.on("end", eof);
process.stdin.on("close", eof);
process.stdin.on("error", gone);
for (const s of ["SIGTERM", "SIGHUP"]) process.on(s, gone);
process.on("SIGINT", () => killAll("SIGINT"));
setInterval(() => {
  if (process.ppid !== ppid) gone();
  else if (silenceMs > 0 && process.stdin.isPaused && !process.stdin.isPaused() && Date.now() - lastRx > silenceMs) gone();
}, 500);
`;

export interface DaemonCommandInput {
  /** Working directory on the remote host (the launcher's, on a shared filesystem). */
  cwd: string;
  /** Node binary: a name looked up on the remote PATH (default "node") or an absolute path. */
  node?: string;
  /** Silence on stdin (no frame) after which the daemon ends every rank; 0: never. */
  heartbeatTimeoutMs: number;
}

/** Builds the remote shell command that starts the host's daemon (see the top of this file). */
export function buildDaemonCommand(input: DaemonCommandInput): string {
  const node = input.node ?? 'node';
  const failCd = `{ printf '${FAILED_MARK} cannot change to working directory %s\\n' ${shQuote(input.cwd)} >&2; exit ${FAILED_STATUS}; }`;
  const failNode = `{ printf '${FAILED_MARK} node not found: %s (PATH=%s); install Node.js there or use --node PATH\\n' ${shQuote(node)} "$PATH" >&2; exit ${FAILED_STATUS}; }`;
  const words = [
    'exec', 'env', '-i', '"PATH=$PATH"', '"HOME=$HOME"', '"$zcmpi_node"', '-e', shQuote(DAEMON_SOURCE), '--',
    DAEMON_ARGV_NAME, String(input.heartbeatTimeoutMs),
  ];
  return `cd -- ${shQuote(input.cwd)} 2>/dev/null || ${failCd}; ` +
    `zcmpi_node=$(command -v ${shQuote(node)}) || ${failNode}; ` +
    words.join(' ');
}

/** What the daemon needs to start one rank ('S' frame). The secret is never part of it. */
export interface RankStartRequest {
  /** The rank's variables on top of the daemon's PATH and HOME (which they may replace). */
  env: Record<string, string>;
  /** The user's program: must exist on the host (same path everywhere). */
  program: string;
  /** What node runs: the program, or (with `bundle`) ignored for the shipped bundle. */
  file: string;
  /** SHA-256 of a bundle sent before with a 'B' frame. */
  bundle?: string;
  nodeOptions: string[];
  args: string[];
  stdin: boolean;
}

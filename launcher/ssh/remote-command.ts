// The command line an exec channel runs on the remote host to start one rank, and the
// small wrapper program (plain JavaScript, run with `node -e`) that sits between sshd and
// the rank.
//
//   cd -- CWD || fail; NODE=$(command -v NODE) || fail;
//   exec env -i "PATH=$PATH" "HOME=$HOME" ZCMPI_...=... X=... "$NODE" -e WRAPPER -- \
//        FLAGS N NODE-OPTIONS... PROGRAM ARGS...
//
// The wrapper
//  - reads the job secret as the first line of the channel's stdin (so it never shows up
//    in argv or in /proc/PID/environ of anything but the rank), then starts the rank with
//    ZCMPI_KV_SECRET set, in a process group of its own (setsid);
//  - reports "ZCMPI-STARTED" (or "ZCMPI-FAILED reason") as the first stderr line, before
//    the rank can write anything;
//  - decodes the frames that follow on stdin (frames.ts): stdin data for the rank, its
//    end, and signals for the rank's process group;
//  - watches for the launcher going away: end of file on stdin (channel closed,
//    connection dropped, sshd killed), its parent changing (sshd session gone) or no
//    heartbeat frame for a while (network partition) kills the whole process group
//    (SIGTERM, SIGKILL after 2 s);
//  - gives the rank a lifeline pipe on fd 3 (ZCMPI_LAUNCHER_FD, as local ranks get from
//    the launcher): should the wrapper itself be killed outright, the rank's runtime reads
//    end of file there and ends its process group;
//  - when the rank exits, kills whatever is left in its group and exits the same way
//    (same status, or the same signal), which sshd reports as exit-status/exit-signal.
import { shQuote } from './quote.js';

export const STARTED_MARK = 'ZCMPI-STARTED';
export const FAILED_MARK = 'ZCMPI-FAILED';
export const FAILED_STATUS = 127;

/** Grace between SIGTERM and SIGKILL when the wrapper loses its launcher. */
export const WRAPPER_GRACE_MS = 2000;

export const WRAPPER_SOURCE = `"use strict";
const cp = require("child_process"), fs = require("fs"), os = require("os");
const argv = process.argv.slice(1);
const wantStdin = argv[0] === "s";
const silenceMs = Number(argv[1]);
const nOpts = Number(argv[2]);
const nodeOpts = argv.slice(3, 3 + nOpts), program = argv[3 + nOpts], args = argv.slice(4 + nOpts);
const say = (m) => { try { fs.writeSync(2, m + "\\n"); } catch (e) {} };
const fail = (m) => { say("${FAILED_MARK} " + m); process.exit(${FAILED_STATUS}); };
try { fs.accessSync(program, fs.constants.R_OK); } catch (e) {
  fail((e.code === "ENOENT" ? "program not found: " : "cannot read program: ") + program);
}
for (let i = 0; i + 1 < nodeOpts.length; i++) {
  if (nodeOpts[i] !== "--import") continue;
  const spec = nodeOpts[i + 1];
  const path = spec.startsWith("file://") ? require("url").fileURLToPath(spec) : spec;
  if (path.startsWith("/") && !fs.existsSync(path))
    fail("TypeScript loader not found: " + path + " (zcmpi must be at the same path on every host)");
}
const SIGS = ["SIGTERM", "SIGINT", "SIGHUP"];
const ppid = process.ppid;
let buf = Buffer.alloc(0), child = null, pgid = 0, dying = false, lastRx = Date.now(), paused = false;
const killGroup = (sig) => { if (pgid) { try { process.kill(-pgid, sig); } catch (e) {} } };
const gone = () => {
  if (dying) return;
  dying = true;
  if (!child) process.exit(1);
  killGroup("SIGTERM");
  setTimeout(() => { killGroup("SIGKILL"); process.exit(1); }, ${WRAPPER_GRACE_MS});
};
for (const s of SIGS) process.on(s, () => { if (!child) process.exit(1); killGroup(s); });
const start = (secret) => {
  say("${STARTED_MARK} " + process.pid);
  const env = Object.assign({}, process.env, { ZCMPI_KV_SECRET: secret, ZCMPI_LAUNCHER_FD: "3" });
  child = cp.spawn(process.execPath, nodeOpts.concat([program], args),
    { stdio: [wantStdin ? "pipe" : "ignore", "inherit", "inherit", "pipe"], detached: true, env });
  if (child.stdio[3]) child.stdio[3].on("error", () => {});
  pgid = child.pid || 0;
  child.on("error", (e) => { say("zcmpirun: cannot start " + process.execPath + ": " + e.message); process.exit(${FAILED_STATUS}); });
  if (child.stdin) child.stdin.on("error", () => {});
  child.on("exit", (code, sig) => {
    killGroup("SIGKILL");
    for (const s of SIGS) process.removeAllListeners(s);
    if (sig) {
      try { process.kill(process.pid, sig); } catch (e) {}
      setTimeout(() => process.exit(128 + (os.constants.signals[sig] || 0)), 500);
    } else process.exit(code === null ? 1 : code);
  });
};
process.stdin.on("data", (d) => {
  lastRx = Date.now();
  buf = buf.length ? Buffer.concat([buf, d]) : d;
  if (!child) {
    const nl = buf.indexOf(10);
    if (nl < 0) return;
    const secret = buf.subarray(0, nl).toString();
    buf = buf.subarray(nl + 1);
    start(secret);
  }
  while (buf.length >= 5) {
    const len = buf.readUInt32BE(1);
    if (buf.length < 5 + len) break;
    const t = buf[0], p = buf.subarray(5, 5 + len);
    buf = buf.subarray(5 + len);
    const si = child.stdin;
    if (t === 0x44 && si && !si.writableEnded) {
      if (!si.write(p)) {
        paused = true;
        process.stdin.pause();
        si.once("drain", () => { paused = false; lastRx = Date.now(); process.stdin.resume(); });
      }
    } else if (t === 0x45 && si) si.end();
    else if (t === 0x4b) killGroup(p.toString());
  }
});
process.stdin.on("end", gone);
process.stdin.on("close", gone);
process.stdin.on("error", gone);
setInterval(() => {
  if (process.ppid !== ppid) gone();
  else if (silenceMs > 0 && !paused && Date.now() - lastRx > silenceMs) gone();
}, 500);
`;

export interface RemoteCommandInput {
  /** Working directory on the remote host (the launcher's, on a shared filesystem). */
  cwd: string;
  /** Node binary: a name looked up on the remote PATH (default "node") or an absolute path. */
  node?: string;
  /**
   * The rank's environment apart from PATH and HOME (which come from the remote login
   * unless given here): ZCMPI_* (never the secret) and variables forwarded with -x.
   */
  env: Record<string, string>;
  /** Options for node before the program, e.g. ["--import", "/abs/tsx/loader.mjs"]. */
  nodeOptions: string[];
  program: string;
  args: string[];
  /** Whether the rank's stdin is forwarded (frames 'D'/'E'); otherwise it is /dev/null. */
  stdin: boolean;
  /** Silence on stdin (no heartbeat) after which the wrapper kills the rank; 0: never. */
  heartbeatTimeoutMs: number;
}

/** Builds the remote shell command for one rank (see the top of this file). */
export function buildRemoteCommand(input: RemoteCommandInput): string {
  if ('ZCMPI_KV_SECRET' in input.env) throw new Error('internal error: the job secret must not be on the remote command line');
  const node = input.node ?? 'node';
  const failCd = `{ printf '${FAILED_MARK} cannot change to working directory %s\\n' ${shQuote(input.cwd)} >&2; exit ${FAILED_STATUS}; }`;
  const failNode = `{ printf '${FAILED_MARK} node not found: %s (PATH=%s); install Node.js there or use --node PATH\\n' ${shQuote(node)} "$PATH" >&2; exit ${FAILED_STATUS}; }`;
  const assigns: string[] = [];
  if (!('PATH' in input.env)) assigns.push('"PATH=$PATH"');
  if (!('HOME' in input.env)) assigns.push('"HOME=$HOME"');
  for (const [k, v] of Object.entries(input.env)) assigns.push(shQuote(`${k}=${v}`));
  const words = [
    'exec', 'env', '-i', ...assigns, '"$zcmpi_node"', '-e', shQuote(WRAPPER_SOURCE), '--',
    input.stdin ? 's' : '-', String(input.heartbeatTimeoutMs), String(input.nodeOptions.length), ...input.nodeOptions.map(shQuote),
    shQuote(input.program), ...input.args.map(shQuote),
  ];
  return `cd -- ${shQuote(input.cwd)} 2>/dev/null || ${failCd}; ` +
    `zcmpi_node=$(command -v ${shQuote(node)}) || ${failNode}; ` +
    words.join(' ');
}

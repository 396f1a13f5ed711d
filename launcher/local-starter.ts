// LocalStarter: runs ranks as child processes of the launcher on this machine.
// Each rank gets its own process group, so a signal reaches everything the rank started,
// and a Ctrl-C in the terminal reaches only the launcher, which then decides what the
// ranks get (job.ts forwards it).
//
// The group is made inside the launcher's session (perl's setpgrp, then exec node), not
// as a session of its own (Node's `detached`, setsid): with the kernel's automatic
// scheduler groups (sched_autogroup_enabled), every session is a group the scheduler
// shares CPUs between, and a rank's sched_yield then never hands its CPU to the rank it
// waits for in another session. With more ranks than CPUs that made a 4-rank barrier on 2
// CPUs 2-3x slower (docs/launcher.md, "Rank processes"). How: launcher/rank-group.ts
// (without perl, which is essential on Debian, ranks fall back to sessions of their own).

import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inOwnGroup } from './rank-group.js';
import type { HostStarter, RankExit, RankHandle, RankSpec } from './rank-starter.js';

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** The rank's file descriptor of the launcher lifeline (see start()). */
const LIFELINE_FD = 3;

let tsxLoader: string | undefined;

/**
 * file: URL of tsx's loader (registers both its ESM and CJS hooks), resolved from this
 * package so a program anywhere runs with zcmpi's tsx, not whatever its directory has.
 */
export function tsxLoaderUrl(): string {
  tsxLoader ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return tsxLoader;
}

/**
 * Node arguments placed before a program that was not compiled (a spec without
 * `launch`): the tsx loader for TypeScript programs only. zcmpirun itself compiles
 * TypeScript once (compile.ts); this is for starters used on their own.
 */
export function nodeArgsFor(program: string): string[] {
  return TS_EXTENSIONS.has(extname(program).toLowerCase()) ? ['--import', tsxLoaderUrl()] : [];
}

/** `node` arguments before the program's own: what the spec says to run, or the program. */
export function entryArgs(spec: RankSpec): string[] {
  return spec.launch ? [...spec.launch.nodeOptions, spec.launch.file] : [...nodeArgsFor(spec.program), spec.program];
}

export interface LocalStarterOptions {
  /** Name used in messages and tags; default 'localhost'. */
  host?: string;
  /** Node binary; default the launcher's own (process.execPath). */
  node?: string;
}

/** Send a signal to a whole process group; false when the group is gone. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export class LocalStarter implements HostStarter {
  readonly host: string;
  private readonly node: string;
  private readonly children = new Set<ChildProcess>();

  constructor(options: LocalStarterOptions = {}) {
    this.host = options.host ?? 'localhost';
    this.node = options.node ?? process.execPath;
  }

  start(spec: RankSpec): Promise<RankHandle> {
    const run = inOwnGroup(this.node, [...entryArgs(spec), ...spec.args]);
    const child = spawn(run.command, run.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, ZCMPI_LAUNCHER_FD: String(LIFELINE_FD) },
      // 'ignore' opens /dev/null: a rank must not compete with the launcher for the terminal.
      // fd 3 is the lifeline: nothing is ever written to it; when the launcher dies
      // (even by SIGKILL) the rank reads EOF there and ends itself (runtime/bootstrap.ts).
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
      detached: run.detached,
    });
    this.children.add(child);
    const exited = new Promise<RankExit>(resolve => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return new Promise<RankHandle>((resolve, reject) => {
      child.once('error', err => {
        // Only a failed spawn rejects; later errors (e.g. kill races) surface through `exited`.
        if (child.pid === undefined) {
          this.children.delete(child);
          reject(new Error(`cannot start ${this.node}: ${err.message}`));
        }
      });
      child.once('spawn', () => {
        const pid = child.pid as number;
        resolve({
          rank: spec.rank,
          host: this.host,
          pid,
          stdout: child.stdout!,
          stderr: child.stderr!,
          stdin: child.stdin ?? null,
          exited,
          kill: (signal: NodeJS.Signals) => {
            // The group may outlive its leader (children of the rank): signal it first.
            if (!killGroup(pid, signal) && child.exitCode === null && child.signalCode === null) {
              try { child.kill(signal); } catch { /* already gone */ }
            }
          },
        });
      });
    });
  }

  async close(): Promise<void> {
    // Sweep whatever the ranks left behind in their process groups, so nothing of the
    // job outlives it. The leaders themselves have exited by now (the job waits for them).
    for (const child of this.children) {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    }
    this.children.clear();
  }
}

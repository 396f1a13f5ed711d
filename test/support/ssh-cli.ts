// Running the real zcmpirun (launcher/cli.ts through tsx) against a netns cluster, and
// the rank fixtures of the SSH tests (test/fixtures/ssh).
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Cluster } from './netns-cluster.js';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = join(root, 'launcher/cli.ts');
/** tsx's loader by absolute URL, so the launcher can start from any directory. */
export const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
export const sshFixture = (name: string): string => join(root, 'test/fixtures/ssh', name);

/** The SSH options every test passes: root, the cluster's user key and known_hosts, no agent. */
export function sshOptions(c: Cluster, knownHosts = c.knownHostsPath): string[] {
  return ['--ssh-user', 'root', '--ssh-key', c.userKeyPath, '--ssh-known-hosts', knownHosts, '--no-ssh-agent'];
}

/** `--host` value for hosts `which` (default all) with `slots` each. */
export function hostList(c: Cluster, slots = 1, which?: number[]): string {
  return (which ?? c.hosts.map((_, i) => i)).map(i => `${c.hosts[i].name}:${slots}`).join(',');
}

/** The network namespace id a process in host i reports as readlink /proc/self/ns/net. */
export function netnsId(c: Cluster, i: number): string {
  return `net:[${statSync(`/run/netns/${c.hosts[i].ns}`).ino}]`;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunningCli {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the stream matches `count` times; rejects when the launcher exits first. */
  waitFor(pattern: RegExp, count?: number, stream?: 'stdout' | 'stderr'): Promise<RegExpMatchArray[]>;
  exited: Promise<CliResult>;
}

export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: boolean } = {}): RunningCli {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', tsxLoader, cliPath, ...args], {
    cwd: root,
    // No agent unless a test gives one (sshOptions also says --no-ssh-agent).
    env: options.env ?? { ...process.env, SSH_AUTH_SOCK: '' },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let done = false;
  const listeners = new Set<() => void>();
  const notify = () => { for (const l of [...listeners]) l(); };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; notify(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; notify(); });
  const exited = new Promise<CliResult>(res => {
    child.on('close', (code, signal) => { done = true; notify(); res({ code, signal, stdout: out, stderr: err, ms: Date.now() - t0 }); });
  });
  return {
    child,
    get stdout() { return out; },
    get stderr() { return err; },
    waitFor: (pattern, count = 1, stream = 'stdout') => new Promise((res, rej) => {
      const g = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
      const l = () => {
        const all = [...(stream === 'stdout' ? out : err).matchAll(g)];
        if (all.length >= count) { listeners.delete(l); res(all); }
        else if (done) { listeners.delete(l); rej(new Error(`launcher exited before ${count} x ${pattern} on ${stream}\nstdout:\n${out}\nstderr:\n${err}`)); }
      };
      listeners.add(l);
      l();
    }),
    exited,
  };
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return startCli(args, options).exited;
}

/** Stops a launcher a test left running (teardown). */
export function stopCli(r: RunningCli): void {
  if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
}

/**
 * The launcher's own messages in a stderr text. A host's login shell may print things
 * before the rank starts (its rc files: this VM's root .bashrc runs `pyenv init`, which
 * complains when sessions race); zcmpirun passes those on with the rank's stderr, so tests
 * that want "no messages" look at these lines only.
 */
export function launcherLines(stderr: string): string[] {
  return stderr.split('\n').filter(l => l.startsWith('zcmpirun:'));
}

/** Pattern for any process of an SSH test job: the per-host daemons, ranks of the fixtures and their children. */
export const JOB_PROCESSES = /test\/fixtures\/ssh\/|zcmpi-grandchild|zcmpi-daemon/;

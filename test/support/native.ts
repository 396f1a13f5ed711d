// Builds the standalone C++ programs in test/native/ against the guard engine and memory
// sources in this checkout (no Node, no UCX), with g++ directly.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import type { Test } from 'tap';
import { repoRoot } from './addon.js';

export interface NativeBuild { ok: boolean; path: string; log: string; ms: number }

const sources = (dir: string) => readdirSync(join(repoRoot, dir)).filter(f => f.endsWith('.cpp')).map(f => join(repoRoot, dir, f));

const buildDir = join(tmpdir(), `zcmpi-native-${process.pid}`);
process.on('exit', () => { try { rmSync(buildDir, { recursive: true, force: true }); } catch { /* best effort */ } });

/** Compiles test/native/<name>.cpp with the engine; `variant` names the flag set. */
export function buildNative(name: string, variant = 'plain', flags: string[] = ['-O2']): NativeBuild {
  mkdirSync(buildDir, { recursive: true });
  const path = join(buildDir, `${name}-${variant}`);
  const args = ['-std=c++17', '-g', '-Wall', '-Wextra', '-Wno-unused-parameter', ...flags, '-I', join(repoRoot, 'native'),
    ...sources('native/guard'), ...sources('native/memory'), join(repoRoot, 'test', 'native', `${name}.cpp`), '-o', path, '-lpthread'];
  const t0 = Date.now();
  const r = spawnSync('g++', args, { encoding: 'utf8', timeout: 600000 });
  return { ok: r.status === 0, path, log: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`, ms: Date.now() - t0 };
}

export interface RunResult { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function runNative(path: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 300000): RunResult {
  const r = spawnSync(path, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 });
  // A program that could not be started (or was cut off) says why in its stderr.
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? `\n(spawnSync: ${r.error.message})` : ''}` };
}

/** The guard engine's two mechanisms, as the native guard tests run them. */
export const guardModes = [['protection keys', {}], ['mprotect (ZCMPI_GUARD_PKEYS=0)', { ZCMPI_GUARD_PKEYS: '0' }]] as const;

/** The ASan+UBSan build of test/native/<name>.cpp, and the environment it runs in (the engine owns SIGSEGV). */
export function buildNativeAsan(name: string): NativeBuild {
  return buildNative(name, 'asan', ['-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined']);
}
export const asanEnv = { ASAN_OPTIONS: 'detect_leaks=0:allow_user_segv_handler=1:handle_segv=0' };

/** Runs a built native test that prints one line per check and `all ok`: built, exit 0, `all ok`, no FAILED line. */
export function expectAllOk(t: Test, b: NativeBuild, env: Record<string, string>, timeoutMs = 60000): void {
  t.ok(b.ok, `built in ${b.ms} ms ${b.ok ? '' : b.log}`);
  if (!b.ok) return;
  const r = runNative(b.path, [], env, timeoutMs);
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}): ${r.stdout.trim()} ${r.stderr.trim().slice(0, 800)}`);
  t.match(r.stdout, /^all ok$/m);
  t.notMatch(r.stdout, /FAILED/);
}

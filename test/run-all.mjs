#!/usr/bin/env node
// Runs every test/**/*.test.ts file in its own Node process (tap as the assertion
// library, tsx for TypeScript), counts the top-level tests of each file and ends with
// the plain summary line `N passed, N failed, N skipped`. A file's time limit is this
// runner's (ZCMPI_TEST_TIMEOUT_S); tap's own 30 s root timeout would otherwise cut a file
// short on a busy machine whatever timeout its subtests ask for.
// Usage: node test/run-all.mjs [filter-substring ...]   (ZCMPI_TEST_JOBS, ZCMPI_TEST_TIMEOUT_S)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const filters = process.argv.slice(2);
const jobs = Number(process.env.ZCMPI_TEST_JOBS ?? 2);
const timeoutMs = Number(process.env.ZCMPI_TEST_TIMEOUT_S ?? 300) * 1000;

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const files = find(join(root, 'test')).filter(f => filters.length === 0 || filters.some(s => f.includes(s)));

let passed = 0, failed = 0, skipped = 0;
const failures = [];

function runOne(file) {
  return new Promise(resolve => {
    const rel = relative(root, file);
    const started = Date.now();
    // A file that boots virtual machines may ask for more: `// test-timeout-s: N` in its text.
    const own = /^\/\/ test-timeout-s: (\d+)$/m.exec(readFileSync(file, 'utf8'));
    const limitMs = Math.max(timeoutMs, own ? Number(own[1]) * 1000 : 0);
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root, env: { ...process.env, TAP_COLOR: '0', TAP_TIMEOUT: String(limitMs / 1000) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let out = '', err = '';
    child.stdout.on('data', d => { out += d; });
    child.stderr.on('data', d => { err += d; });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let p = 0, f = 0, s = 0;
      const lines = [];
      for (const line of out.split('\n')) {
        const m = /^(not ok|ok) \d+ - (.*?)(?: # time=[\d.]+m?s)?$/.exec(line);
        if (!m) continue;
        const skip = /# (SKIP|TODO)\b\s*(.*)$/i.exec(m[2]);
        if (skip) { s++; lines.push(`  skipped: ${rel}: ${m[2].replace(/ # (SKIP|TODO).*$/i, '')}: ${skip[2] || 'no reason given'}`); }
        else if (m[1] === 'ok') p++;
        else { f++; failures.push({ rel, name: m[2], out, err }); }
      }
      if (timedOut) { f++; failures.push({ rel, name: `timed out after ${limitMs / 1000}s`, out, err }); }
      else if ((code !== 0 || signal) && f === 0) {
        f++; failures.push({ rel, name: `exited with ${signal ?? 'status ' + code} without a failing test`, out, err });
      }
      passed += p; failed += f; skipped += s;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${f ? 'FAIL' : 'ok  '} ${rel} (${p} passed, ${f} failed, ${s} skipped, ${secs}s)`);
      for (const l of lines) console.log(l);
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(Array.from({ length: Math.max(1, jobs) }, async () => {
  while (queue.length) await runOne(queue.shift());
}));

// The failing assertions themselves (each `not ok` with its YAML block: message, found,
// wanted), wherever they are in the file's output; the tail alone can miss the first ones.
function failedAssertions(out) {
  const lines = out.split('\n'), shown = [];
  for (let i = 0; i < lines.length && shown.length < 400; i++) {
    if (!/^\s*not ok \d+/.test(lines[i]) || !/^\s*---$/.test(lines[i + 1] ?? '')) continue;
    let j = i;
    while (j < lines.length && j - i < 40 && !/^\s*\.\.\.$/.test(lines[j])) shown.push(lines[j++]);
  }
  return shown.join('\n');
}

for (const f of failures) {
  console.log(`\n---- ${f.rel}: ${f.name}`);
  const assertions = failedAssertions(f.out);
  if (assertions) console.log(`failed assertions:\n${assertions}\n(end of the output:)`);
  console.log(f.out.split('\n').slice(-60).join('\n'));
  if (f.err.trim()) console.log('stderr:\n' + f.err.split('\n').slice(-40).join('\n'));
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);

#!/usr/bin/env node
// Runs zcmpirun jobs one after another inside the RDMA VM (test/rdma/vm-run.sh) and writes
// one JSON line per job to the output file, so a host-side test boots the VM once for many
// jobs. Programs are the fixtures compiled to JavaScript (build/vm-js): tsx compiling
// TypeScript in every rank costs tens of seconds per job under TCG emulation.
//
//   node test/rdma/run-cases.mjs CASES.json OUT.jsonl
// CASES.json: [{ name, program, args?, np?, guard?, transport?, launcher?, env?, timeout?, shell? }]
// A case with `shell` runs that shell command instead of a job (benchmarks, perftest).
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [casesPath, outPath] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesPath, 'utf8'));
writeFileSync(outPath, '');

function run(c) {
  const timeout = c.timeout ?? 120;
  let argv;
  if (c.shell) {
    argv = ['bash', '-c', c.shell];
  } else {
    argv = [process.execPath, join(root, 'build/vm-js/launcher/cli.js'), '-np', String(c.np ?? 2), '--timeout', String(timeout),
      // Node starts in seconds to tens of seconds under emulation: the startup limit is not the test.
      '--timeout-startup', String(c.timeoutStartup ?? 300)];
    if (c.guard) argv.push('--guard', c.guard);
    argv.push('--transport', c.transport ?? 'verbs', ...(c.launcher ?? []), join(root, c.program), ...(c.args ?? []));
  }
  const t0 = Date.now();
  return new Promise(resolve => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, env: { ...process.env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', d => { stdout += d; });
    child.stderr.on('data', d => { stderr += d; });
    // The launcher's own --timeout ends a job; this is for shell cases and a stuck launcher.
    const killer = setTimeout(() => child.kill('SIGKILL'), (timeout + 30) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ name: c.name, code, signal, ms: Date.now() - t0, stdout: stdout.slice(-20000), stderr: stderr.slice(-20000) });
    });
  });
}

for (const c of cases) {
  const r = await run(c);
  appendFileSync(outPath, JSON.stringify(r) + '\n');
  process.stderr.write(`rdma-vm case ${r.name}: exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''} in ${r.ms} ms\n`);
}

// Loading the addon must never crash a process: every test, and every rank, loads it.
// 300 plain `node -e "require(addon)"` runs, with the user's environment.
//
// KNOWN BUG with the full addon (fails; the guard+memory-only test addon passes): about 1
// load in 100 dies of SIGSEGV at a random place (malloc, V8's compiler, AsyncHooks), with
// UCX's "Caught signal 11" backtrace. Linking Debian's UCX 1.13 libraries into a trivial
// N-API addon with no code of ours reproduces it (5/500 here); UCX_MEM_MMAP_HOOK_MODE=none
// makes it disappear (0/500): libucm patching mmap/munmap at load time races with Node's
// already-running threads. Fix in the launcher/runtime environment or by loading UCX
// later, after setting the UCM options.
import t from 'tap';
import { spawn } from 'node:child_process';
import { addonPath, envBeforeLoad } from './support/addon.js';

const RUNS = Number(process.env.ZCMPI_LOAD_RUNS ?? 300);

function load(env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: string | null; err: string }> {
  return new Promise(resolve => {
    const c = spawn(process.execPath, ['-e', `require(${JSON.stringify(addonPath)})`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', d => { err += d; });
    c.on('close', (code, signal) => resolve({ code, signal, err }));
  });
}

t.test(`the addon loads ${RUNS} times without a crash`, { timeout: 300000 }, async t => {
  const bad: string[] = [];
  let next = 0;
  await Promise.all([0, 1, 2].map(async () => {
    while (next < RUNS) {
      next++;
      const r = await load(envBeforeLoad);
      if (r.code !== 0) bad.push(`${r.signal ?? r.code}: ${r.err.split('\n').slice(0, 6).join(' | ')}`);
    }
  }));
  t.equal(bad.length, 0, `${bad.length} of ${RUNS} loads failed${bad.length ? `; first: ${bad[0]}` : ''}`);
});

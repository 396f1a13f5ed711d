// Loading the addon must never crash a process: every test, and every rank, loads it.
// 300 plain `node -e "require(addon)"` runs, with the user's environment.
//
// With Debian's UCX 1.13 linked in, about 1 load in 100 died of SIGSEGV at a random place:
// libucm patches mmap/munmap in its library constructor while Node's threads already run.
// The runtime sets UCX_MEM_MMAP_HOOK_MODE=none (and UCX_ERROR_SIGNALS='') before it loads
// the addon (runtime/ucx-env.ts); this test loads it with exactly that environment. A
// program that require()s build/Release/zcmpi.node by hand without those settings still
// has the 1% risk (documented in docs/design.md); loading UCX lazily would remove it.
import t from 'tap';

t.setTimeout(290000);  // several runs and builds: far beyond tap's 30 s default on a loaded machine
import { spawn } from 'node:child_process';
import { productionAddonPath as addonPath, envBeforeLoad } from './support/addon.js';
import { applyUcxDefaults } from '../runtime/ucx-env.js';

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
      const env = { ...envBeforeLoad };
      applyUcxDefaults(env);
      const r = await load(env);
      if (r.code !== 0) bad.push(`${r.signal ?? r.code}: ${r.err.split('\n').slice(0, 6).join(' | ')}`);
    }
  }));
  t.equal(bad.length, 0, `${bad.length} of ${RUNS} loads failed${bad.length ? `; first: ${bad[0]}` : ''}`);
});

// The production addon carries no test-only helper: driving the engine by hand, stand-in
// devices, fork, deliberate crashes and injected failures live in the test addon
// (test/addon/, build/Release/zcmpi_test.node), which has every production binding too.
// Each addon is loaded in a child of its own (one process holds one guard engine).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { productionAddonPath, testAddonPath, envBeforeLoad } from './support/addon.js';
import { applyUcxDefaults } from '../runtime/ucx-env.js';

const TEST_ONLY = ['guardInit', 'guardAcquire', 'guardRelease', 'guardIsActive', 'guardReleaseAfter',
  'deviceFillAndRelease', 'guardReleaseAll', 'guardSetRank', 'memoryStats', 'nativeFill', 'nativeSum',
  'threadTouch', 'forkChildWrites', 'segfaultForTest'];

function exportsOf(path: string): string[] {
  const env = { ...envBeforeLoad };
  applyUcxDefaults(env);
  const r = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(path)}))))`],
    { env, encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`loading ${path} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

t.test('zcmpi.node exports no test-only helper; zcmpi_test.node exports all of its bindings and the helpers', async t => {
  const prod = exportsOf(productionAddonPath);
  const test = exportsOf(testAddonPath);
  t.ok(prod.includes('commCreate') && prod.includes('guardStats') && prod.includes('prepareThreadPool'), 'the runtime\'s bindings are there');
  t.same(prod.filter(n => TEST_ONLY.includes(n)), [], 'no test-only export in the production addon');
  t.same(prod.filter(n => !test.includes(n)), [], 'the test addon has every production binding');
  t.same(TEST_ONLY.filter(n => !test.includes(n)), [], 'the test addon has every test-only helper');
});

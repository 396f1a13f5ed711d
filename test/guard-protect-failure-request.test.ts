// A receive whose guard cannot be installed fails that request with a GuardError naming
// the errno (and, at vm.max_map_count, the limit), and the rank goes on: injected through
// the test addon's seam, and for real in a child whose mappings fill the map count.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';
import { testAddonPath } from './support/addon.js';

// map-count also without protection keys: mprotect splits the mapping the same way.
const cases: Array<{ mode: string; pkeys: string }> = [
  { mode: 'inject', pkeys: '1' }, { mode: 'map-count', pkeys: '1' }, { mode: 'map-count', pkeys: '0' },
];
for (const { mode, pkeys } of cases) {
  t.test(`${mode}${pkeys === '0' ? ' (ZCMPI_GUARD_PKEYS=0)' : ''}: GuardError with the errno, the rank goes on`, async t => {
    const r = await runRanks('../guard/protect-failure-request.ts', [mode],
      { np: 1, guard: 'block', timeout: 60, env: { ZCMPI_ADDON: testAddonPath, ZCMPI_GUARD_PKEYS: pkeys } });
    allOk(t, r, 1);
    t.match(r.stdout, mode === 'inject' ? /guard-error .*Operation not permitted \(errno 1\)/ : /guard-error .*Cannot allocate memory \(errno 12; .*vm\.max_map_count = \d+/, 'the message');
  });
}

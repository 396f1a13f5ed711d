// A receive whose guard cannot be installed fails that request with a GuardError naming
// the errno (and, at vm.max_map_count, the limit), and the rank goes on: injected through
// the test addon's seam, and for real in a child whose mappings fill the map count.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';
import { testAddonPath } from './support/addon.js';

for (const mode of ['inject', 'map-count']) {
  t.test(`${mode}: GuardError with the errno, the rank goes on`, async t => {
    const r = await runRanks('../guard/protect-failure-request.ts', [mode],
      { np: 1, guard: 'block', timeout: 60, env: { ZCMPI_ADDON: testAddonPath } });
    allOk(t, r, 1);
    t.match(r.stdout, mode === 'inject' ? /guard-error .*Operation not permitted \(errno 1\)/ : /guard-error .*Cannot allocate memory \(errno 12; .*vm\.max_map_count = \d+/, 'the message');
  });
}

// UCX's own configuration keeps working: UCX_TLS=tcp forces TCP (and UCX reports the
// transport it used when asked to log), an unusable UCX_TLS fails init with a clear error.
import t from 'tap';
import { allOk, runRanks } from './support/p2p.js';

t.test('UCX_TLS=tcp,self still moves every byte', async t => {
  const r = await runRanks('sizes.ts', ['arena', String(4 << 20)], { env: { UCX_TLS: 'tcp,self', UCX_LOG_LEVEL: 'info' } });
  allOk(t, r, 2);
  t.match(r.stdout + r.stderr, /ep_cfg\[\d+\]: tag\(tcp/, 'UCX used TCP');
  t.notMatch(r.stdout + r.stderr, /ep_cfg\[\d+\]: tag\([^)]*(sysv|posix|cma)/, 'and no shared memory');
});

t.test('UCX_TLS naming no usable transport fails init clearly', async t => {
  const r = await runRanks('init-transport.ts', [], { env: { UCX_TLS: 'no_such_transport' } });
  t.not(r.code, 0);
  t.match(r.stdout, /init-error ERR_TRANSPORT zcmpi: /);
});

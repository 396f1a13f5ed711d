// Strict mode with a compiled TypeScript program: the report's stack of the isend names
// the .ts line the isend is on (mapped back from the bundle).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('strict report names the .ts line of the isend', async t => {
  const prog = fixture('compile/strict-line.ts');
  const line = readFileSync(prog, 'utf8').split('\n').findIndex(l => l.includes('ISEND-LINE')) + 1;
  const r = await runCli(['-np', '2', '--guard', 'strict', '--timeout', '120', prog], { env: { ...process.env, UCX_WARN_UNUSED_ENV_VARS: 'n' } });
  t.match(r.stderr, /^ERROR: zcmpi: write-to-send-buffer on rank 0/m, r.stderr);
  t.match(r.stderr, new RegExp(`compile/strict-line\\.ts:${line}:\\d+`), `the stack names strict-line.ts:${line}`);
  t.notMatch(r.stderr, /\.ts\.mjs:\d+/, 'no bundle lines');
});

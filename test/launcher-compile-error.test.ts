// A program that does not compile (a syntax error in a file it imports): zcmpirun names
// file:line:column and the error, exits 1 and starts no rank.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('compile error: file:line, exit 1, no rank started', async t => {
  const r = await runCli(['-np', '3', fixture('compile/broken.ts')]);
  t.equal(r.code, 1);
  const helper = fixture('compile/broken-helper.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.match(r.stderr, new RegExp(`^zcmpirun: cannot compile \\S*broken\\.ts:\\n  ${helper}:3:\\d+: Unexpected ";"`, 'm'), r.stderr);
  t.equal(r.stdout, '', 'no rank printed anything');
  t.notMatch(r.stderr, /rank \d/, 'no rank was started or ended');
});

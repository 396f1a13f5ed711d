// A compiled TypeScript program runs with source maps: an uncaught error's stack names
// the .ts files and lines it came from (the imported helper and the entry), not the bundle.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('stack traces name .ts lines', async t => {
  const r = await runCli(['-np', '1', fixture('compile/throws.ts')]);
  t.equal(r.code, 1, 'the rank fails');
  t.match(r.stderr, /Error: explode: boom/);
  t.match(r.stderr, /at explode \(\/\S*test\/fixtures\/launcher\/compile\/throws-helper\.ts:5:9\)/, 'the throw, in the helper, line 5 column 9');
  t.match(r.stderr, /at \S+ \(\/\S*test\/fixtures\/launcher\/compile\/throws\.ts:6:1\)$/m, 'the call, in the entry, line 6');
  t.notMatch(r.stderr, /\.mjs:\d+/, 'no bundle lines');
});

// --tag-output prefixes every line of every rank with [host:rank]; without it, no prefix.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('--tag-output prefixes stdout and stderr lines with [host:rank]', async t => {
  const r = await runCli(['-np', '3', '--tag-output', fixture('kv-exchange.ts')]);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  const lines = r.stdout.split('\n').filter(l => l !== '');
  t.equal(lines.length, 6, 'two lines per rank');
  for (const line of lines) t.match(line, /^\[localhost:[0-2]\] (rank|info) [0-2] /, `tagged: ${line.slice(0, 40)}`);
  for (let rank = 0; rank < 3; rank++) {
    t.match(r.stdout, new RegExp(`^\\[localhost:${rank}\\] rank ${rank} of 3 got`, 'm'), `rank ${rank}'s line carries its own tag`);
  }
});

t.test('without --tag-output lines are forwarded unchanged', async t => {
  const r = await runCli(['-np', '2', fixture('kv-exchange.ts')]);
  t.equal(r.code, 0);
  t.notMatch(r.stdout, /\[localhost:/);
  t.match(r.stdout, /^rank 1 of 2 got from-0,from-1$/m);
});

// Everything after the program goes to the program, even launcher-looking options.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('arguments after the program are passed through unchanged', async t => {
  const args = ['--foo', '-np', '7', '--guard', 'bad', '-x', 'Y', '--', 'plain arg', ''];
  const r = await runCli(['-np', '2', '--tag-output', fixture('env-args.ts'), ...args]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(l => l !== '');
  t.equal(lines.length, 2);
  for (const l of lines) t.same(JSON.parse(l.replace(/^\[[^\]]+\] /, '')).args, args);
});

t.test('-np=N and launcher options before the program still parse', async t => {
  const r = await runCli(['-np=2', '--transport', 'verbs', fixture('env-args.ts'), 'x']);
  t.equal(r.code, 0, r.stderr);
  const ranks = r.stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l));
  t.equal(ranks.length, 2);
  for (const rk of ranks) t.match(rk, { size: '2', transport: 'verbs', args: ['x'] });
});

// Programs in TypeScript run through tsx; JavaScript programs run on plain node.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

for (const lang of ['ts', 'js']) {
  t.test(`a .${lang} program runs on every rank`, async t => {
    const r = await runCli(['-np', '3', fixture(`env-args.${lang}`), 'a']);
    t.equal(r.code, 0, r.stderr);
    const ranks = r.stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l)).sort((a, b) => a.rank - b.rank);
    t.same(ranks.map(rk => rk.rank), ['0', '1', '2']);
    for (const rk of ranks) t.match(rk, { lang, size: '3', localSize: '3', host: 'localhost', args: ['a'] });
    if (lang === 'js') for (const rk of ranks) t.equal(rk.tsxLoaded, false, 'no tsx loader for JavaScript');
  });
}

t.test('a relative program path is resolved against the working directory', async t => {
  const r = await runCli(['-np', '1', 'env-args.js'], { cwd: fixture('.') });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /"lang":"js"/);
});

// -x NAME / -x NAME=VALUE forward variables; --guard/--transport (and ZCMPI_GUARD as the
// default) reach every rank as ZCMPI_GUARD/ZCMPI_TRANSPORT.
import t from 'tap';
import { parseCli } from '../launcher/cli.js';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

const ranksOf = (stdout: string) => stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l)).sort((a, b) => a.rank - b.rank);

t.test('-x NAME=VALUE and -x NAME reach every rank', async t => {
  const env: NodeJS.ProcessEnv = { ...process.env, ZCMPI_TEST_FOO: 'from-launcher' };
  delete env.ZCMPI_TEST_BAR;
  const r = await runCli(['-np', '2', '-x', 'ZCMPI_TEST_FOO', '-x', 'ZCMPI_TEST_BAR=a=b c', fixture('env-args.ts')], { env });
  t.equal(r.code, 0, r.stderr);
  const ranks = ranksOf(r.stdout);
  t.equal(ranks.length, 2);
  for (const rk of ranks) {
    t.equal(rk.foo, 'from-launcher');
    t.equal(rk.bar, 'a=b c', 'value after the first = kept whole');
  }
});

t.test('-x resolves values for remote starters: JobOptions.env carries them', async t => {
  const cli = parseCli(['-np', '1', '-x', 'ZCMPI_TEST_FOO', '-x', 'ZCMPI_TEST_BAR=2', '-x', 'ZCMPI_TEST_UNSET', fixture('env-args.ts')],
    { ZCMPI_TEST_FOO: '1' });
  t.same(cli.env, { ZCMPI_TEST_FOO: '1', ZCMPI_TEST_BAR: '2' });
  t.match(cli.warnings, [/-x ZCMPI_TEST_UNSET: not set/]);
});

t.test('--guard and --transport reach the ranks', async t => {
  const r = await runCli(['-np', '2', '--guard', 'strict', '--transport', 'ucx', fixture('env-args.ts')]);
  t.equal(r.code, 0, r.stderr);
  for (const rk of ranksOf(r.stdout)) t.match(rk, { guard: 'strict', transport: 'ucx' });
});

t.test('ZCMPI_GUARD is the default for --guard; the option wins over it', async t => {
  const r1 = await runCli(['-np', '1', fixture('env-args.ts')], { env: { ...process.env, ZCMPI_GUARD: 'off' } });
  t.equal(ranksOf(r1.stdout)[0]?.guard, 'off');
  const r2 = await runCli(['-np', '1', '--guard', 'block', fixture('env-args.ts')], { env: { ...process.env, ZCMPI_GUARD: 'off' } });
  t.equal(ranksOf(r2.stdout)[0]?.guard, 'block');
  const r3 = await runCli(['-np', '1', fixture('env-args.ts')], { env: { ...process.env, ZCMPI_GUARD: '' } });
  t.match(ranksOf(r3.stdout)[0], { guard: 'block', transport: 'auto' });
});

// --node-arg FLAG (repeatable) puts FLAG on every rank's node command line, before the
// program, in the order given; something that is not a flag is refused at the launcher,
// and a flag node does not know ends the job with node's own message.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

const ranksOf = (stdout: string) => stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as { rank: number; execArgv: string[] }).sort((a, b) => a.rank - b.rank);

t.test('--node-arg=FLAG and --node-arg FLAG reach every rank of a TypeScript program, in order', async t => {
  const r = await runCli(['-np', '2', '--node-arg=--max-opt=2', '--node-arg', '--stack-size=2000', fixture('exec-argv.ts')]);
  t.equal(r.code, 0, r.stderr);
  const ranks = ranksOf(r.stdout);
  t.equal(ranks.length, 2);
  for (const rk of ranks) {
    const i = rk.execArgv.indexOf('--max-opt=2');
    t.ok(i >= 0 && rk.execArgv[i + 1] === '--stack-size=2000', `rank ${rk.rank}: ${JSON.stringify(rk.execArgv)}`);
  }
});

t.test('a JavaScript program gets them too', async t => {
  const r = await runCli(['-np', '1', '--node-arg=--max-old-space-size=512', fixture('env-args.js')]);
  t.equal(r.code, 0, r.stderr);
});

t.test('something that is not a flag is refused, naming the option', async t => {
  const r = await runCli(['-np', '1', '--node-arg=max-opt', fixture('exec-argv.ts')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /option --node-arg: expected a node flag such as --max-old-space-size=8192, got 'max-opt'/);
});

t.test('a flag node does not know ends the job with node\'s message', async t => {
  const r = await runCli(['-np', '2', '--node-arg=--no-such-zcmpi-flag', fixture('exec-argv.ts')]);
  t.not(r.code, 0);
  t.match(r.stderr, /bad option: --no-such-zcmpi-flag/);
  t.match(r.stderr, /zcmpirun: rank \d .*exited with status 9; ending the job/);
});

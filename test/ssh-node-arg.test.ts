// --node-arg reaches remote ranks too: the host's daemon starts each rank with the flags
// before the program, as local ranks get them.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('--node-arg flags are on every remote rank\'s node command line, in order', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), '--node-arg=--max-opt=2', '--node-arg=--stack-size=2000',
    sshFixture('exec-argv.ts')]);
  t.equal(r.code, 0, r.stderr);
  const ranks = r.stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as { rank: number; execArgv: string[] });
  t.equal(ranks.length, 2);
  for (const rk of ranks) {
    const i = rk.execArgv.indexOf('--max-opt=2');
    t.ok(i >= 0 && rk.execArgv[i + 1] === '--stack-size=2000', `rank ${rk.rank}: ${JSON.stringify(rk.execArgv)}`);
  }
});

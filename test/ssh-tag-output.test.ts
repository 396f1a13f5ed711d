// --tag-output over SSH: every stdout and stderr line of every remote rank arrives whole,
// prefixed [host:rank], even when the rank writes a line in pieces.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, launcherLines, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('[host:rank] prefixes on whole lines, stdout and stderr', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '4', '--host', hostList(c, 2), ...sshOptions(c), '--tag-output', sshFixture('output.ts')]);
  t.equal(r.code, 0, r.stderr);
  const out = r.stdout.trim().split('\n').sort();
  const allErr = r.stderr.trim().split('\n');
  t.ok(allErr.every(l => /^\[10\.77\.\d+\.1[12]:[0-3]\] /.test(l)), 'every stderr line is tagged (the login shell\'s too, if it said anything)');
  const err = allErr.filter(l => /stderr of rank/.test(l)).sort();
  const expectOut: string[] = [];
  const expectErr: string[] = [];
  for (let rank = 0; rank < 4; rank++) {
    const tag = `[${c.hosts[Math.floor(rank / 2)].name}:${rank}]`;
    expectOut.push(`${tag} first line of rank ${rank}`, `${tag} second line of rank ${rank}`);
    expectErr.push(`${tag} stderr of rank ${rank}`);
  }
  t.same(out, expectOut.sort(), 'stdout lines whole and tagged');
  t.same(err, expectErr.sort(), 'stderr lines whole and tagged');
});

t.test('without --tag-output the lines come through untouched', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '1', '--host', hostList(c), ...sshOptions(c), sshFixture('output.ts')]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'first line of rank 0\nsecond line of rank 0\n');
  t.same(r.stderr.split('\n').filter(l => /stderr of rank/.test(l)), ['stderr of rank 0']);
  t.same(launcherLines(r.stderr), []);
});

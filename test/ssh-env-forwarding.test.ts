// Remote ranks get a clean environment: PATH and HOME of the remote login, the job's
// ZCMPI_* variables (the secret gone from the environment once read) and what -x forwards
// (-x NAME with the launcher's value, -x NAME=VALUE as given, any bytes a shell could mangle);
// nothing else of the launcher's environment.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, runCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('-x NAME and -x NAME=VALUE reach remote ranks; nothing else leaks', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const tricky = `it's "q" $HOME \`x\` a\\b;*`;
  const env = { ...process.env, ZC_FROM_LAUNCHER: 'launcher value', ZC_NOT_FORWARDED: 'secret stuff' };
  const r = await runCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), '-x', 'ZC_FROM_LAUNCHER', '-x', `ZC_GIVEN=${tricky}`, '-x', 'ZC_EMPTY=',
    sshFixture('env.ts'), 'ZC_FROM_LAUNCHER', 'ZC_GIVEN', 'ZC_EMPTY', 'ZC_NOT_FORWARDED', 'ZCMPI_HOST', 'ZCMPI_KV_SECRET', 'HOME', 'PATH'], { env });
  t.equal(r.code, 0, r.stderr);
  for (let rank = 0; rank < 2; rank++) {
    const m = new RegExp(`^env ${rank} (.*)$`, 'm').exec(r.stdout);
    t.ok(m, `rank ${rank} reported`);
    const got = JSON.parse(m![1]) as Record<string, string | null>;
    t.equal(got.ZC_FROM_LAUNCHER, 'launcher value', '-x NAME takes the launcher\'s value');
    t.equal(got.ZC_GIVEN, tricky, '-x NAME=VALUE arrives byte for byte');
    t.equal(got.ZC_EMPTY, '', 'an empty value is a value');
    t.equal(got.ZC_NOT_FORWARDED, null, 'unforwarded variables stay behind');
    t.equal(got.ZCMPI_HOST, c.hosts[rank].name);
    t.equal(got.ZCMPI_KV_SECRET, null, 'the secret left the environment once read');
    t.equal(got.HOME, '/root', 'HOME of the remote login');
    t.ok(got.PATH && got.PATH.length > 0, 'PATH of the remote login');
    const names = new RegExp(`^names ${rank} (.*)$`, 'm').exec(r.stdout)![1].split(',');
    const unexpected = names.filter(n => !/^(ZCMPI_|ZC_FROM_LAUNCHER$|ZC_GIVEN$|ZC_EMPTY$|PATH$|HOME$)/.test(n));
    t.same(unexpected, [], `rank ${rank} sees no other variables`);
  }
});

t.test('-x PATH=... replaces the remote PATH', { skip: why }, async t => {
  const c = await createCluster({ hosts: 1 });
  t.teardown(() => c.cleanup());
  const r = await runCli(['-np', '1', '--host', hostList(c), ...sshOptions(c), '-x', 'PATH=/usr/bin:/bin:/zc/custom', sshFixture('env.ts'), 'PATH']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^env 0 \{"PATH":"\/usr\/bin:\/bin:\/zc\/custom"\}$/m);
});

// --stdin forwards the launcher's stdin to rank 0 on a remote host (after the secret, on
// the same channel); the other ranks get /dev/null.
import t from 'tap';
import { createCluster, skipReason } from './support/netns-cluster.js';
import { hostList, startCli, sshFixture, sshOptions } from './support/ssh-cli.js';

const why = skipReason();

t.test('--stdin: rank 0 on an SSH host reads the launcher\'s stdin to its end', { skip: why }, async t => {
  const c = await createCluster({ hosts: 2 });
  t.teardown(() => c.cleanup());
  const run = startCli(['-np', '2', '--host', hostList(c), ...sshOptions(c), '--stdin', sshFixture('stdin.ts')], { stdin: true });
  t.teardown(() => { run.child.kill('SIGKILL'); });
  const payload = 'line one\nline "two" with $HOME\n' + 'x'.repeat(100000) + '\nlast';
  run.child.stdin!.write(payload.slice(0, 20));
  await new Promise(r => setTimeout(r, 200));
  run.child.stdin!.end(payload.slice(20));
  const r = await run.exited;
  t.equal(r.code, 0, r.stderr);
  t.ok(/^stdin 0 pipe$/m.test(r.stdout), 'rank 0 reads a pipe');
  t.ok(/^stdin 1 chardev$/m.test(r.stdout), 'rank 1 reads /dev/null');
  const m = /^rank 0 read (.*)$/m.exec(r.stdout);
  t.ok(m);
  const got = JSON.parse(m![1]) as string;
  t.equal(got.length, payload.length, 'every byte');
  t.ok(got === payload, 'in order');
});

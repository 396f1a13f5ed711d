// Each local rank leads a process group of its own (a signal to the group reaches everything
// it started; a terminal's Ctrl-C reaches only the launcher) inside the launcher's session,
// so with the kernel's automatic scheduler groups all ranks share one group and a waiting
// rank's sched_yield can hand its CPU to the rank it waits for (launcher/local-starter.ts).
import t from 'tap';
import { existsSync } from 'node:fs';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

const hasPerl = existsSync('/usr/bin/perl');

t.test('ranks: own process group, the launcher\'s session, one scheduler autogroup', { skip: hasPerl ? false : 'no /usr/bin/perl: ranks get sessions of their own' }, async t => {
  const r = await runCli(['-np', '3', fixture('groups.ts')]);
  t.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter(l => l.startsWith('groups ')).map(l => l.split(' '));
  t.equal(rows.length, 3, 'every rank reported');
  const autogroups = new Set<string>();
  for (const [, rank, pid, pgid, sid, launcherSid, autogroup] of rows) {
    t.equal(pgid, pid, `rank ${rank} leads its own process group`);
    t.equal(sid, launcherSid, `rank ${rank} is in the launcher's session`);
    autogroups.add(autogroup);
  }
  t.equal(autogroups.size, 1, `one autogroup for all ranks (got ${[...autogroups].join(', ')})`);
});

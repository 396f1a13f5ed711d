// zcmpirun with a bad hostfile line, a missing hostfile, a bad --host item or more ranks
// than slots: a one-line error (file:line and the text, or the slot count), exit 1, and
// no host is contacted.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, sshFixture } from './support/ssh-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'zcmpi-hostfile-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
// 10.77.255.x is never a test cluster subnet: if the launcher tried to connect, it would
// hang or fail differently; these must fail before any connection.
const prog = sshFixture('exchange.ts');

t.test('a bad hostfile line: file:line and the text, exit 1', async t => {
  const hf = join(dir, 'hosts');
  writeFileSync(hf, '# cluster\n10.77.255.1 slots=2\n10.77.255.2 slots=lots\n');
  const r = await runCli(['-np', '2', '--hostfile', hf, prog]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `zcmpirun: error: ${hf}:3: bad hostfile line "10.77.255.2 slots=lots": invalid slot count "lots" (expected a positive integer)\n`);
  t.equal(r.stdout, '');
});

t.test('a missing hostfile', async t => {
  const r = await runCli(['-np', '2', '--hostfile', join(dir, 'nope'), prog]);
  t.equal(r.code, 1);
  t.equal(r.stderr, `zcmpirun: error: cannot read hostfile ${join(dir, 'nope')}: no such file\n`);
});

t.test('a bad --host item', async t => {
  const r = await runCli(['-np', '2', '--host', '10.77.255.1:0', prog]);
  t.equal(r.code, 1);
  t.equal(r.stderr, 'zcmpirun: error: --host 10.77.255.1:0: invalid slot count "0" (expected a positive integer)\n');
});

t.test('more ranks than slots: refused naming the slot count; --map-by checked', async t => {
  const r = await runCli(['-np', '5', '--host', '10.77.255.1:2,10.77.255.2:2', prog]);
  t.equal(r.code, 1);
  t.equal(r.stderr, 'zcmpirun: error: not enough slots: 5 ranks requested but only 4 slots on 2 hosts (10.77.255.1:2,10.77.255.2:2); add slots or use --oversubscribe\n');
  const m = await runCli(['-np', '2', '--host', 'a,b', '--map-by', 'core', prog]);
  t.equal(m.code, 1);
  t.equal(m.stderr, "zcmpirun: error: option --map-by: expected slot or node, got 'core'\n");
});

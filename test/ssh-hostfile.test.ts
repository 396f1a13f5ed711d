// Unit (hosts.ts only): --hostfile and --host parsing. Bad lines name FILE:LINE and the text.
import t from 'tap';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combineHosts, parseHostfile, parseHostList, readHostfile } from '../launcher/hosts.js';

t.test('hostfile: hosts, slots, comments, blank lines, duplicates summed', async t => {
  const text = [
    '# cluster of three',
    '',
    'node1 slots=2',
    '  node2   slots=4   # trailing comment',
    '10.0.0.7',
    'node1 slots=1',
    '[fd00::5] slots=3',
    'node3 slots=2 max_slots=8',
    '\t',
  ].join('\n');
  const hosts = parseHostfile(text, 'hf');
  t.same(hosts.map(h => [h.host, h.slots]), [['node1', 3], ['node2', 4], ['10.0.0.7', 1], ['fd00::5', 3], ['node3', 2]]);
  t.equal(hosts[0].origin, 'hf:3', 'origin is the first line naming the host');
});

t.test('hostfile: CRLF line endings', async t => {
  t.same(parseHostfile('a slots=2\r\nb\r\n', 'f').map(h => [h.host, h.slots]), [['a', 2], ['b', 1]]);
});

t.test('hostfile: a bad line is an error naming file:line and the text', async t => {
  const cases: [string, RegExp][] = [
    ['good\nnode2 slots=two\n', /^hf:2: bad hostfile line "node2 slots=two": invalid slot count "two"/],
    ['node2 slots=0', /^hf:1: bad hostfile line "node2 slots=0": invalid slot count "0"/],
    ['node2 slots=-1', /^hf:1: bad hostfile line "node2 slots=-1"/],
    ['\n\nnode2 cpus=4', /^hf:3: bad hostfile line "node2 cpus=4": unknown keyword "cpus"/],
    ['node2 4', /^hf:1: bad hostfile line "node2 4": expected slots=N, got "4"/],
    ['bad/host slots=1', /^hf:1: bad hostfile line "bad\/host slots=1": invalid host name "bad\/host"/],
    ['n slots=1 slots=2', /^hf:1: bad hostfile line "n slots=1 slots=2": "slots" given twice/],
    ['# only comments\n\n', /^hf: hostfile names no hosts$/],
  ];
  for (const [text, re] of cases) {
    t.throws(() => parseHostfile(text, 'hf'), re, JSON.stringify(text));
    try { parseHostfile(text, 'hf'); } catch (e) { t.notMatch((e as Error).message, /\n/, 'one line'); }
  }
});

t.test('readHostfile: reads the file; a missing file is a one-line error naming it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'zcmpi-hf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'hosts');
  writeFileSync(f, 'a slots=2\nb slots=x\n');
  t.throws(() => readHostfile(f), { message: `${f}:2: bad hostfile line "b slots=x": invalid slot count "x" (expected a positive integer)` });
  writeFileSync(f, 'a slots=2\nb\n');
  t.same(readHostfile(f).map(h => h.slots), [2, 1]);
  t.throws(() => readHostfile(join(dir, 'nope')), { message: `cannot read hostfile ${join(dir, 'nope')}: no such file` });
});

t.test('--host: host:slots lists, default 1 slot, IPv6 in brackets', async t => {
  t.same(parseHostList('h1:2,h2:2').map(h => [h.host, h.slots]), [['h1', 2], ['h2', 2]]);
  t.same(parseHostList('h1,h2,h1').map(h => [h.host, h.slots]), [['h1', 2], ['h2', 1]]);
  t.same(parseHostList('[fd00::1]:4,10.1.2.3:2').map(h => [h.host, h.slots]), [['fd00::1', 4], ['10.1.2.3', 2]]);
  t.throws(() => parseHostList('h1:0'), /--host h1:0: invalid slot count "0"/);
  t.throws(() => parseHostList('h1:x'), /invalid slot count "x"/);
  t.throws(() => parseHostList('h1,,h2'), /--host: empty host/);
  t.throws(() => parseHostList('fd00::1'), /use host:slots, and \[addr\]:slots for IPv6/);
  t.throws(() => parseHostList('a b'), /--host: invalid host name "a b"/);
});

t.test('hostfile and --host combine in order, duplicates summed', async t => {
  const hosts = combineHosts(parseHostfile('a slots=2\nb', 'f'), parseHostList('b:2,c'));
  t.same(hosts.map(h => [h.host, h.slots]), [['a', 2], ['b', 3], ['c', 1]]);
});

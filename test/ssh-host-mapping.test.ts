// Unit (hosts.ts only): mapping -np ranks onto hosts (--map-by slot|node), refusing more
// ranks than slots unless --oversubscribe, and telling which hosts are this machine.
import t from 'tap';
import { isLocalHost, isLocalHostResolved, localIdentity, mapRanks, parseHostList, type Placement } from '../launcher/hosts.js';

const hosts = (spec: string) => parseHostList(spec);
const layout = (p: Placement[]) => p.map(x => `${x.host}:${x.localRank}/${x.localSize}`);

t.test('--map-by slot (default) fills each host before the next', async t => {
  const p = mapRanks(hosts('a:2,b:2,c:2'), 5);
  t.same(p.map(x => x.host), ['a', 'a', 'b', 'b', 'c']);
  t.same(layout(p), ['a:0/2', 'a:1/2', 'b:0/2', 'b:1/2', 'c:0/1']);
  t.same(p.map(x => x.rank), [0, 1, 2, 3, 4]);
  t.same(p.map(x => x.hostIndex), [0, 0, 1, 1, 2]);
});

t.test('--map-by node deals ranks round robin over hosts with free slots', async t => {
  t.same(mapRanks(hosts('a:2,b:2,c:2'), 5, { mapBy: 'node' }).map(x => x.host), ['a', 'b', 'c', 'a', 'b']);
  // b has one slot: once it is full, the round skips it.
  const p = mapRanks(hosts('a:3,b:1,c:2'), 6, { mapBy: 'node' });
  t.same(p.map(x => x.host), ['a', 'b', 'c', 'a', 'c', 'a']);
  t.same(layout(p).filter(s => s.startsWith('a')), ['a:0/3', 'a:1/3', 'a:2/3']);
});

t.test('more ranks than slots is refused, naming the slot count', async t => {
  t.throws(() => mapRanks(hosts('a:2,b:1'), 4),
    { message: 'not enough slots: 4 ranks requested but only 3 slots on 2 hosts (a:2,b:1); add slots or use --oversubscribe' });
  t.throws(() => mapRanks(hosts('a'), 2, { mapBy: 'node' }), /only 1 slot on 1 host \(a:1\)/);
  t.same(mapRanks(hosts('a:2,b:1'), 3).length, 3, 'exactly the slot count is fine');
});

t.test('--oversubscribe spreads the extra ranks evenly', async t => {
  const p = mapRanks(hosts('a:2,b:1'), 7, { oversubscribe: true });
  // every host full (a:2, b:1), then 4 extra ranks one by one: a, b, a, b -> a:4, b:3
  t.same(p.map(x => x.host), ['a', 'a', 'a', 'a', 'b', 'b', 'b']);
  t.same(layout(p).slice(-1), ['b:2/3']);
  const q = mapRanks(hosts('a:1,b:1'), 5, { mapBy: 'node', oversubscribe: true });
  t.same(q.map(x => x.host), ['a', 'b', 'a', 'b', 'a']);
});

t.test('bad -np and --map-by values', async t => {
  t.throws(() => mapRanks(hosts('a'), 0), /-np: expected a positive integer/);
  t.throws(() => mapRanks(hosts('a'), 1.5), /-np: expected a positive integer/);
  t.throws(() => mapRanks(hosts('a'), 1, { mapBy: 'core' as never }), /--map-by: unknown policy "core"/);
  t.throws(() => mapRanks([], 1), /no hosts/);
});

t.test('hosts that are this machine', async t => {
  const id = { hostnames: ['vm1.example.org', 'vm1'], addresses: ['127.0.0.1', '10.1.2.3', 'fe80::1', '::1'] };
  for (const h of ['localhost', 'LOCALHOST', 'x.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', 'vm1', 'VM1.example.org', '10.1.2.3', '::ffff:10.1.2.3', 'fe80::1']) {
    t.ok(isLocalHost(h, id), `${h} is local`);
  }
  for (const h of ['vm2', 'vm1.other.org', '10.1.2.4', 'fe80::2', '128.0.0.1', 'localhostx']) {
    t.notOk(isLocalHost(h, id), `${h} is not local`);
  }
  t.ok(isLocalHostResolved('alias', ['10.1.2.3'], id), 'a name resolving to our address is local');
  t.notOk(isLocalHostResolved('alias', ['10.1.2.3', '10.9.9.9'], id), 'unless it also resolves elsewhere');
  t.notOk(isLocalHostResolved('alias', [], id));
  const real = localIdentity();
  t.ok(real.hostnames.length >= 1 && real.addresses.includes('127.0.0.1'), 'localIdentity() sees this machine');
  t.ok(isLocalHost(real.hostnames[0], real));
});

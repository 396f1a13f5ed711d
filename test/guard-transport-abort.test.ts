// A fault on a transport's own thread aborts with a clear message instead of waiting for
// a release only that thread could perform. The bindings have no way to make a device
// thread touch the program view (deviceFillAndRelease writes through the device view or
// /proc/self/mem), so this runs test/native/guard_transport_abort.cpp. The JS side: a
// thread that is not a transport thread (threadTouch) waits normally.
import t from 'tap';
import { buildNative, runNative } from './support/native.js';

t.setTimeout(290000);  // native builds and several child runs: beyond tap's 30 s default on a loaded machine
import { addon, memories, timed, DELAY_MS } from './support/guard.js';

const build = buildNative('guard_transport_abort');

for (const dir of ['in', 'out'] as const) {
  t.test(`a transport thread touching a guarded ${dir === 'in' ? 'receive' : 'send'} buffer aborts with a message`, { timeout: 300000 }, async t => {
    t.ok(build.ok, `built (${build.ms} ms) ${build.ok ? '' : build.log}`);
    if (!build.ok) return;
    const r = runNative(build.path, [dir], {}, 60000);
    t.equal(r.signal, 'SIGABRT', `killed by SIGABRT, not hung (status ${r.status}, signal ${r.signal})`);
    t.match(r.stderr, /zcmpi: fatal: rank 1: transport thread 'ucx-progress' touched a guarded buffer/, 'names the thread');
    t.match(r.stderr, dir === 'in' ? /request #7: irecv from rank 0, tag 99, 4096 bytes/ : /request #7: isend to rank 0, tag 99, 4096 bytes/, 'names the request');
    t.match(r.stderr, /transports must use the device view/, 'says what to do');
  });
}

// Since f406785 an access starting within 64 bytes before a guarded range counts as a
// conflict (it might straddle into it); on a transport thread a conflict aborts, so a
// progress thread writing its own malloc'ed data that sits just before a small plain
// receive buffer would kill the rank. The engine exempts transport threads from that
// window; this keeps it so.
t.test('a transport thread writing bytes that only share the page with a guard proceeds', { timeout: 300000 }, async t => {
  t.ok(build.ok, `built ${build.ok ? '' : build.log}`);
  if (!build.ok) return;
  const r = runNative(build.path, ['neighbour'], {}, 60000);
  t.equal(r.status, 0, `exit 0 (signal ${r.signal}) ${r.stderr.trim().slice(0, 400)}`);
  t.match(r.stdout, /wrote its neighbour bytes/);
});

t.test('threadTouch is not a transport thread: it waits for the release and completes', { timeout: 300000 }, async t => {
  addon.guardInit('block');
  const v = memories()[0].at(0, 4096).bytes;
  const id = addon.guardAcquire(v, 'in');
  addon.deviceFillAndRelease(v, 0x2f, id, DELAY_MS);
  const [sum, ms] = timed(() => addon.threadTouch(v, false));
  t.ok(ms >= DELAY_MS * 0.8, `waited (${ms.toFixed(0)} ms)`);
  t.equal(sum, 0x2f * 4096, 'and read the received data');
});

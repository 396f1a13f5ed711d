// Strict mode: each access MPI forbids is reported on stderr, first line containing
// "ERROR: zcmpi:" and the hazard, then the request (call, peer, tag, bytes) and the JS
// stack passed when it was posted; the access still waits and the data stays correct.
import t from 'tap';
import { runFixture } from './support/guard.js';

const hazards: [string, string, RegExp][] = [
  ['write-send', 'write-to-send-buffer', /request #42: isend to rank 3, tag 7, 4096 bytes/],
  ['read-recv', 'read-of-receive-buffer', /request #42: irecv from rank 3, tag 7, 4096 bytes/],
  ['write-recv', 'write-to-receive-buffer', /request #42: irecv from rank 3, tag 7, 4096 bytes/],
];

for (const [arg, hazard, request] of hazards) {
  t.test(`strict mode reports ${hazard}`, async t => {
    const r = runFixture('strict', [arg], { timeoutMs: 60000 });
    t.equal(r.status, 0, `the run completes (signal ${r.signal})`);
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    t.equal(res.reports, 1, 'one report counted');
    if (arg === 'read-recv') t.equal(res.read, 0x44, 'the reported read still waited and saw the received data');
    const lines = r.stderr.split('\n');
    const first = lines.findIndex(l => l.includes('ERROR: zcmpi:'));
    t.ok(first >= 0, 'a report line starts with ERROR: zcmpi:');
    t.equal(lines.filter(l => l.includes('ERROR: zcmpi:')).length, 1, 'exactly one report');
    t.match(lines[first], hazard, `its first line names the hazard (${lines[first]})`);
    t.match(lines[first], /rank 2/, 'and the rank');
    const report = lines.slice(first, first + 12).join('\n');
    t.match(report, request, 'names the request: call, peer, tag, bytes');
    t.match(report, /at postRequest \(file:\/\/\/app\/rank-program\.ts:12:5\)/, 'shows the JS stack from posting');
    t.match(report, /at main \(file:\/\/\/app\/rank-program\.ts:30:3\)/, 'every frame of it');
    t.comment(report);
  });
}

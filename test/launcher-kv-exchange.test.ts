// Ranks get their rank/size from the launcher and exchange values through the KV service.
import t from 'tap';
import { fixture, runCli } from './fixtures/launcher/helpers.js';

t.test('3 ranks put, fence and get each other\'s values', async t => {
  const r = await runCli(['-np', '3', fixture('kv-exchange.ts')]);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  for (let rank = 0; rank < 3; rank++) {
    t.match(r.stdout, new RegExp(`^rank ${rank} of 3 got from-0,from-1,from-2$`, 'm'), `rank ${rank} saw all values`);
    const m = new RegExp(`^info ${rank} (.*)$`, 'm').exec(r.stdout);
    t.ok(m, `rank ${rank} printed its job info`);
    const info = JSON.parse(m![1]);
    t.match(info, { rank, size: 3, localRank: rank, localSize: 3, host: 'localhost', guard: 'block', transport: 'auto', launched: true });
    t.ok(info.secretWasSet, 'the rank got a 32-byte hex secret');
    t.notOk(info.secretInArgv, 'the secret is not in argv');
    t.notOk(info.secretLeftInEnv, 'the secret was removed from process.env');
  }
  const ids = new Set([...r.stdout.matchAll(/"jobId":"([^"]+)"/g)].map(m => m[1]));
  t.equal(ids.size, 1, 'all ranks share one job id');
});

t.test('a single rank job fences with itself', async t => {
  const r = await runCli(['-np', '1', fixture('kv-exchange.ts')]);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  t.match(r.stdout, /^rank 0 of 1 got from-0$/m);
});

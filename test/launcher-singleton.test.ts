// Without zcmpirun a program is a singleton job (rank 0 of 1) with an in-process KV;
// malformed ZCMPI_* values are errors naming the variable.
import t from 'tap';
import { connectKv, readJobInfo } from '../runtime/bootstrap.js';

t.test('readJobInfo without launcher variables: rank 0 of 1, not launched', async t => {
  const info = readJobInfo({});
  t.match(info, { rank: 0, size: 1, localRank: 0, localSize: 1, guard: 'block', transport: 'auto', launched: false });
  t.match(info.jobId, /^singleton-/);
  t.type(info.host, 'string');
  t.match(readJobInfo({ ZCMPI_GUARD: 'strict', ZCMPI_TRANSPORT: 'ucx' }), { guard: 'strict', transport: 'ucx', launched: false });
});

t.test('singleton connectKv: put/get round trip, fence resolves at once', async t => {
  const kv = await connectKv(readJobInfo({}), {});
  const bytes = new Uint8Array([1, 2, 3]);
  await kv.put('a', bytes);
  bytes[0] = 9; // the store keeps a copy
  t.same([...(await kv.get('a'))], [1, 2, 3]);
  await kv.put('s', 'text');
  t.equal((await kv.get('s')).toString(), 'text');
  const later = kv.get('later');
  await kv.put('later', 'x');
  t.equal((await later).toString(), 'x', 'a get waits for its put');
  await kv.fence();
  await kv.fence();
  await kv.abort('ignored for a singleton');
  await t.rejects(kv.put('', 'x'), /key must be a non-empty string/);
  kv.close();
});

t.test('readJobInfo of a launched rank', async t => {
  const env = {
    ZCMPI_RANK: '2', ZCMPI_SIZE: '4', ZCMPI_LOCAL_RANK: '0', ZCMPI_LOCAL_SIZE: '2', ZCMPI_JOB_ID: 'j1', ZCMPI_HOST: 'h1',
    ZCMPI_GUARD: 'off', ZCMPI_TRANSPORT: 'verbs', ZCMPI_KV_ADDR: '127.0.0.1:5000', ZCMPI_KV_SECRET: 'ab',
  };
  t.same(readJobInfo(env), { rank: 2, size: 4, localRank: 0, localSize: 2, jobId: 'j1', host: 'h1', guard: 'off', transport: 'verbs', launched: true });
  t.equal(env.ZCMPI_KV_SECRET, 'ab', 'a caller-supplied env object is left alone');
  t.equal(readJobInfo({ ...env, ZCMPI_KV_ADDR: '[::1]:5000' }).rank, 2, 'IPv6 address accepted');
});

const good: Record<string, string> = {
  ZCMPI_RANK: '0', ZCMPI_SIZE: '2', ZCMPI_LOCAL_RANK: '0', ZCMPI_LOCAL_SIZE: '2', ZCMPI_JOB_ID: 'j', ZCMPI_KV_ADDR: '127.0.0.1:1',
};
const bad: Array<[string, Record<string, string | undefined>]> = [
  ['ZCMPI_RANK', { ZCMPI_RANK: 'x' }],
  ['ZCMPI_RANK', { ZCMPI_RANK: '-1' }],
  ['ZCMPI_RANK', { ZCMPI_RANK: '2' }],
  ['ZCMPI_SIZE', { ZCMPI_SIZE: '0' }],
  ['ZCMPI_SIZE', { ZCMPI_SIZE: undefined }],
  ['ZCMPI_LOCAL_RANK', { ZCMPI_LOCAL_RANK: '2.5' }],
  ['ZCMPI_LOCAL_SIZE', { ZCMPI_LOCAL_SIZE: '3' }],
  ['ZCMPI_JOB_ID', { ZCMPI_JOB_ID: '' }],
  ['ZCMPI_KV_ADDR', { ZCMPI_KV_ADDR: 'nohost' }],
  ['ZCMPI_KV_ADDR', { ZCMPI_KV_ADDR: 'h:99999' }],
  ['ZCMPI_GUARD', { ZCMPI_GUARD: 'loose' }],
  ['ZCMPI_TRANSPORT', { ZCMPI_TRANSPORT: 'tcp' }],
];
t.test('malformed ZCMPI_* values throw errors naming the variable', async t => {
  for (const [name, change] of bad) {
    const env: Record<string, string | undefined> = { ...good, ...change };
    t.throws(() => readJobInfo(env), { message: new RegExp(`^${name} `) }, `${name}=${JSON.stringify(change[name])}`);
  }
  t.throws(() => readJobInfo({ ZCMPI_GUARD: 'x' }), /^ZCMPI_GUARD must be one of block, strict, off; got 'x'$/, 'also for a singleton');
});

t.test('connectKv of a launched rank without a secret names ZCMPI_KV_SECRET', async t => {
  const info = readJobInfo(good);
  await t.rejects(connectKv(info, good), /ZCMPI_KV_SECRET is not set/);
});

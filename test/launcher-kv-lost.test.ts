// When the launcher goes away, a rank's pending and later KV operations fail with an
// error saying so instead of hanging; when the job ends, waiting gets fail too.
import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { KvServer } from '../launcher/kv-server.js';
import { connectKv, readJobInfo } from '../runtime/bootstrap.js';

function envFor(addr: string, secret: string, size = 2): Record<string, string> {
  return { ZCMPI_RANK: '0', ZCMPI_SIZE: String(size), ZCMPI_LOCAL_RANK: '0', ZCMPI_LOCAL_SIZE: String(size), ZCMPI_JOB_ID: 't', ZCMPI_KV_ADDR: addr, ZCMPI_KV_SECRET: secret };
}

t.test('connection dropped: pending get and fence reject, later calls reject at once', async t => {
  // A stand-in launcher that welcomes the rank, waits for its get and fence, then dies.
  let requestsIn: () => void;
  const gotRequests = new Promise<void>(r => { requestsIn = r; });
  let sock: Socket | undefined;
  const server = createServer(s => {
    sock = s;
    let lines = 0;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      for (const _ of d.split('\n').filter(Boolean)) {
        if (++lines === 1) s.write(JSON.stringify({ op: 'welcome', size: 2 }) + '\n');
        if (lines === 3) requestsIn(); // hello, get, fence
      }
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => server.close());
  const env = envFor(`127.0.0.1:${(server.address() as { port: number }).port}`, 'secret');
  const kv = await connectKv(readJobInfo(env), env);
  const get = kv.get('never');
  const fence = kv.fence();
  await gotRequests;
  sock!.destroy();
  await t.rejects(get, /the launcher went away \(key-value connection to 127\.0\.0\.1:\d+ closed\); get 'never' failed/);
  await t.rejects(fence, /the launcher went away.*fence failed/);
  await t.rejects(kv.put('k', 'v'), /the launcher went away.*put 'k' failed/);
  kv.close();
});

t.test('nothing listening: connectKv rejects naming the address', async t => {
  const server = new KvServer({ size: 1 });
  await server.listen();
  const addr = server.addressFor();
  await server.close();
  const env = envFor(addr, server.secret, 1);
  await t.rejects(connectKv(readJobInfo(env), env), /cannot reach the launcher's key-value service at 127\.0\.0\.1:\d+/);
});

t.test('job ends while a get waits: the get rejects', async t => {
  const server = new KvServer({ size: 2 });
  await server.listen();
  const env = envFor(server.addressFor(), server.secret);
  const kv = await connectKv(readJobInfo(env), env);
  const get = kv.get('missing');
  const fence = kv.fence();
  // Wait until the server has the requests queued: a put/get round trip after them.
  await kv.put('sync', '1');
  const checks = [t.rejects(get, /get 'missing' failed: the job ended/), t.rejects(fence, /fence failed: the job ended/)];
  await server.close();
  await Promise.all(checks);
  kv.close();
});

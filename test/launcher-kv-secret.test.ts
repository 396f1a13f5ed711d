// The KV service admits only connections that present the job's secret first; others
// are closed and logged. Also: bad ranks and non-hello first frames are refused.
import t from 'tap';
import { connect } from 'node:net';
import { KvServer } from '../launcher/kv-server.js';
import { connectKv, readJobInfo } from '../runtime/bootstrap.js';

function envFor(server: KvServer, rank: number, secret: string): Record<string, string> {
  return {
    ZCMPI_RANK: String(rank), ZCMPI_SIZE: String(server.size), ZCMPI_LOCAL_RANK: String(rank), ZCMPI_LOCAL_SIZE: String(server.size),
    ZCMPI_JOB_ID: 'test', ZCMPI_KV_ADDR: server.addressFor(), ZCMPI_KV_SECRET: secret,
  };
}

/** Send raw lines; resolve with what came back before the server closed the connection. */
function raw(port: number, lines: string[]): Promise<string> {
  return new Promise(resolve => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => { got += d; });
    s.on('error', () => { /* reset by the server: that is a close too */ });
    s.on('close', () => resolve(got));
    s.on('connect', () => { for (const l of lines) s.write(l + '\n'); });
  });
}

t.test('wrong secret: connection closed, refusal logged, right secret works', async t => {
  const logs: string[] = [];
  const server = new KvServer({ size: 2, log: l => logs.push(l) });
  await server.listen();
  t.teardown(() => server.close());
  t.match(server.secret, /^[0-9a-f]{64}$/, '32 random bytes, hex');

  const wrong = 'f'.repeat(64);
  await t.rejects(connectKv(readJobInfo(envFor(server, 0, wrong)), envFor(server, 0, wrong)), /connection closed during the handshake/);
  t.match(logs.join('\n'), /kv: refused connection from 127\.0\.0\.1:\d+: wrong secret/);

  t.equal(await raw(server.port, [JSON.stringify({ op: 'hello', rank: 0, secret: 'short' })]), '', 'short secret: closed without a reply');
  t.equal(await raw(server.port, [JSON.stringify({ op: 'get', id: 1, key: 'k' })]), '', 'no hello: closed');
  t.equal(await raw(server.port, ['not json']), '', 'garbage: closed');
  t.equal(await raw(server.port, [JSON.stringify({ op: 'hello', rank: 5, secret: server.secret })]), '', 'rank out of range: closed');
  t.match(logs.join('\n'), /first frame is not a hello/);
  t.match(logs.join('\n'), /rank 5 is not in 0\.\.1/);
  t.equal(server.connectedRanks.size, 0, 'none of them counts as a rank');

  const kvs = await Promise.all([0, 1].map(r => connectKv(readJobInfo(envFor(server, r, server.secret)), envFor(server, r, server.secret))));
  await kvs[0].put('k', 'v');
  t.equal((await kvs[1].get('k')).toString(), 'v', 'the right secret is accepted');
  await Promise.all(kvs.map(kv => kv.fence()));
  t.equal(server.fencesCompleted, 1);
  for (const kv of kvs) kv.close();
});

t.test('an oversized unauthenticated frame is refused', async t => {
  const logs: string[] = [];
  const server = new KvServer({ size: 1, log: l => logs.push(l) });
  await server.listen();
  t.teardown(() => server.close());
  await raw(server.port, ['x'.repeat(100_000)]);
  t.match(logs.join('\n'), /frame longer than 4096 bytes/);
});

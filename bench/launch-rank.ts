// The trivial rank of bench/launch.ts: bootstrap (connect to the launcher's KV service,
// one fence: what init() needs before anything else), then finish. Prints its own
// timestamps (epoch ms) so the benchmark can say where the time goes.
import { connectKv, readJobInfo } from '../runtime/bootstrap.js';

const origin = performance.timeOrigin;
const info = readJobInfo();
const kv = await connectKv(info);
const connected = performance.timeOrigin + performance.now();
await kv.fence();
const fenced = performance.timeOrigin + performance.now();
kv.close();
if (process.env.ZCMPI_BENCH_TIMES === '1') console.log(`times ${JSON.stringify({ rank: info.rank, origin, connected, fenced })}`);

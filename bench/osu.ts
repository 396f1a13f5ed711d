// OSU Micro-Benchmarks for zcmpi, with OSU 7.4's options, defaults, formulas and output:
//   zcmpirun -np N bench/osu.ts <test> [-m [MIN:]MAX] [-i ITER] [-x SKIP] [-f] [-W WINDOW]
//                                      [-T TYPE] [--buffer alloc|plain] [--json] [--jit-warmup N]
// tests: latency bw bibw (2 ranks), barrier bcast reduce allreduce gather allgather alltoall
// reduce_scatter iallreduce (2 or more). From an installed package:
//   npx zcmpirun -np 2 node_modules/zcmpi/bench/osu.ts latency
// See docs/benchmarks.md.
import { init } from '../runtime/index.js';
import { runCollective } from './osu/collectives.js';
import { Context } from './osu/context.js';
import { Printer } from './osu/format.js';
import { runNonBlocking } from './osu/nonblocking.js';
import { helpText, parseOptions, UsageError } from './osu/options.js';
import { runPointToPoint } from './osu/pt2pt.js';

const comm = await init();
let status = 0;
let guardStats = false;
try {
  const o = parseOptions(process.argv.slice(2));
  if (o === 'help') {
    if (comm.rank === 0) process.stdout.write(helpText());
  } else {
    guardStats = o.guardStats;
    const needed = o.test.ranks === 'exactly-2' ? comm.size === 2 : comm.size >= 2;
    if (!needed) {
      throw new UsageError(`${o.test.name} needs ${o.test.ranks === 'exactly-2' ? 'exactly' : 'at least'} 2 ranks (this job has ${comm.size}): zcmpirun -np ${o.test.ranks === 'exactly-2' ? 2 : 'N'} ...`);
    }
    const meta = { system: 'zcmpi', ranks: comm.size, guard: comm.guard, transport: comm.transport };
    const ctx = new Context(comm, o, new Printer(o, comm.rank, meta));
    if (o.test.kind === 'latency' || o.test.kind === 'bandwidth') await runPointToPoint(ctx);
    else if (o.test.kind === 'nonblocking') await runNonBlocking(ctx);
    else await runCollective(ctx);
  }
} catch (err) {
  status = 1;
  if (!(err instanceof UsageError)) {
    process.stderr.write(`osu: error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(status);
  }
  // A usage error is the same on every rank: rank 0 says it once, and all finalize (so no
  // rank's exit ends the job before rank 0's message is out).
  if (comm.rank === 0) process.stderr.write(`osu: error: ${err.message}\n`);
}
if (guardStats) {
  const { addon } = await import('../runtime/native.js');
  process.stderr.write(`rank ${comm.rank} guard stats ${JSON.stringify(addon().guardStats())}\n`);
}
await comm.finalize();
process.exitCode = status;

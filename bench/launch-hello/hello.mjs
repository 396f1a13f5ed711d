// hello.ts as plain JavaScript (bench/launch-vs-mpi4py.ts).
import { init } from 'zcmpi';

const comm = await init();
await comm.barrier();
await comm.finalize();

// The launch benchmark's program: init, one barrier, finalize (bench/launch-vs-mpi4py.ts).
import { init } from 'zcmpi';

const comm = await init();
await comm.barrier();
await comm.finalize();

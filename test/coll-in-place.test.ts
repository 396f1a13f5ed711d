// IN_PLACE wherever MPI allows it: allreduce, scan, exscan, reduce/gather/scatter at the
// root, allgather, alltoall, reduceScatterBlock.
import t from 'tap';
import { matrix } from './support/coll.js';

matrix(t, ['inplace'], [1, 2, 3, 5, 8]);

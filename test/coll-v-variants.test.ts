// gatherv, scatterv, allgatherv, alltoallv with uneven counts (some ranks contribute none),
// displacements with gaps and out of rank order, several roots, 1 to 8 ranks.
import t from 'tap';
import { matrix } from './support/coll.js';

matrix(t, ['vvariants']);

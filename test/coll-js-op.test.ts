// A non-commutative JavaScript function op (a * 3 + b) folds in rank order for allreduce,
// reduce, scan, exscan and reduceScatterBlock, on numbers and bigints.
import t from 'tap';
import { matrix } from './support/coll.js';

matrix(t, ['jsop'], [1, 2, 3, 4, 7]);

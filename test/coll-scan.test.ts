// scan and exscan (rank 0's exscan result buffer stays untouched), several types and ops.
import t from 'tap';
import { matrix } from './support/coll.js';

matrix(t, ['scan']);

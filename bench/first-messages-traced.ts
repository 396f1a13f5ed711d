// bench/first-messages-rank.ts with V8's optimization trace on (bench/jit-deopts.sh reads
// it): V8's flags must be set before the program's code is compiled, and zcmpirun passes no
// Node flags, so they are set here and the program imported after.
//   zcmpirun -np 2 bench/first-messages-traced.ts first|pingpong|window <size> [trips]
import v8 from 'node:v8';

v8.setFlagsFromString(process.env.JIT_TRACE_FLAGS ?? '--trace-opt --trace-deopt');
await import('./first-messages-rank.js');

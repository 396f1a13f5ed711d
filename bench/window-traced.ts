// bench/window-timeline.ts with V8 flags set before its code is compiled (zcmpirun passes no
// Node flags): WINDOW_V8_FLAGS, default '--trace-opt --trace-deopt', e.g. '--no-opt' (no
// optimizing compiles at all) or '--trace-opt --no-concurrent-recompilation' (each compile on
// the JavaScript thread, so its time is that thread's). With window-timeline's --each the
// trace's compiles fall between the sizes they slowed.
//   zcmpirun -np 2 bench/window-traced.ts [window-timeline.ts arguments]
import v8 from 'node:v8';

v8.setFlagsFromString(process.env.WINDOW_V8_FLAGS ?? '--trace-opt --trace-deopt');
await import('./window-timeline.js');

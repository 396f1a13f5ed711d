// SIGUSR1 opens the inspector, as in plain Node, but from the event loop.
//
// Node's own SIGUSR1 handler wakes its inspector watchdog thread, which has blocked every
// signal since startup, and that thread then writes to the main Environment's interrupt
// queue and the isolate (heap memory). Heap memory shares pages with in-flight plain
// buffers; a guard fault arriving at a thread that blocks SIGSEGV makes the kernel kill the
// process, and no later mask change can reach a thread that old
// (native/guard/signal_mask_trap.h). So a guarded rank listens for SIGUSR1 itself, which
// replaces Node's handler (libuv installs its own), and the watchdog never wakes.
// Difference from plain Node: the inspector opens when the event loop turns, not inside
// a JavaScript loop that never yields (start such a rank with --inspect instead).
import inspector from 'node:inspector';

function openInspector(): void {
  // A program that listens for SIGUSR1 itself owns the signal, as in plain Node.
  if (process.listenerCount('SIGUSR1') > 1) return;
  if (inspector.url() !== undefined) return;
  try {
    inspector.open();
  } catch (e) {
    process.stderr.write(`zcmpi: SIGUSR1: the inspector did not open: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

let armed = false;

/** Once per process, when guards are on; a program already listening keeps the signal. */
export function takeOverInspectorSignal(): void {
  if (armed || process.platform !== 'linux') return;
  armed = true;
  if (process.listenerCount('SIGUSR1') > 0) return;
  process.on('SIGUSR1', openInspector);
}

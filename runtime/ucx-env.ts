// UCX settings zcmpi needs before libucx is loaded (its library constructors read them):
//  - UCX_MEM_MMAP_HOOK_MODE=none: libucm otherwise patches mmap/munmap while Node's threads
//    are already running, which crashed about 1 load in 100 here; zcmpi's transports do not
//    use UCX's registration cache that the hooks feed.
//  - UCX_ERROR_SIGNALS='': UCX's own SIGSEGV handler prints a backtrace and kills the process,
//    which would turn WebAssembly out-of-bounds traps (V8 handles them by SIGSEGV) into crashes.
// A value the user set is kept: UCX's own configuration variables keep working.
export const UCX_DEFAULTS: Readonly<Record<string, string>> = {
  UCX_MEM_MMAP_HOOK_MODE: 'none',
  UCX_ERROR_SIGNALS: '',
};

export function applyUcxDefaults(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(UCX_DEFAULTS)) {
    if (env[name] === undefined) env[name] = value;
  }
}

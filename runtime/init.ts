// init(): join the job. Reads what zcmpirun passed (or becomes a singleton), starts the
// native engine (UCX, progress thread, guard engine), exchanges worker addresses through
// the launcher's key-value service and connects to every rank.

import {
  GUARD_MODES, TRANSPORT_NAMES, connectKv, readJobInfo, type GuardMode, type KvClient, type TransportName,
} from './bootstrap.js';
import { availableParallelism } from 'node:os';
import { Communicator } from './communicator.js';
import { Engine } from './engine.js';
import { ArgumentError, BootstrapError, StateError, TransportError, ZcmpiError, fromNative } from './errors.js';
import { addon, type NativeCreated } from './native.js';
import { OptionError, readRankOptions, type RankOptions } from './options.js';
import { takeOverInspectorSignal } from './inspector-signal.js';
import { primeHotPaths } from './prime.js';
import { armStatsAtExit } from './stats-at-exit.js';
import { armStrictExit } from './strict-exit.js';

export interface InitOptions {
  /** Overrides ZCMPI_GUARD (zcmpirun --guard). */
  guard?: GuardMode;
  /** Overrides ZCMPI_TRANSPORT (zcmpirun --transport). */
  transport?: TransportName;
  /**
   * Microseconds a waiting call (await, wait()) polls on the JavaScript thread before it
   * sleeps and lets the progress thread deliver the completion. Default: ZCMPI_SPIN_US or 10000.
   */
  spinUs?: number;
  /** Environment to read the job from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

let initialized = false;

function rankOptions(env: NodeJS.ProcessEnv): RankOptions {
  try {
    return readRankOptions(env);
  } catch (e) {
    if (e instanceof OptionError) throw new ArgumentError(e.variable, `zcmpi: ${e.message}`);
    throw e;
  }
}

function checkOptions(options: unknown): InitOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentError('options', `zcmpi: init: options must be an object (got ${options === null ? 'null' : typeof options})`);
  }
  const o = options as InitOptions;
  if (o.guard !== undefined && !GUARD_MODES.includes(o.guard)) {
    throw new ArgumentError('options.guard', `zcmpi: init: options.guard must be one of ${GUARD_MODES.join(', ')} (got ${String(o.guard)})`);
  }
  if (o.transport !== undefined && !TRANSPORT_NAMES.includes(o.transport)) {
    throw new ArgumentError('options.transport', `zcmpi: init: options.transport must be one of ${TRANSPORT_NAMES.join(', ')} (got ${String(o.transport)})`);
  }
  if (o.spinUs !== undefined && (typeof o.spinUs !== 'number' || !(o.spinUs >= 0) || !Number.isFinite(o.spinUs))) {
    throw new ArgumentError('options.spinUs', `zcmpi: init: options.spinUs must be a non-negative number (got ${String(o.spinUs)})`);
  }
  return o;
}

export async function init(options?: InitOptions): Promise<Communicator> {
  const o = checkOptions(options);
  if (initialized) throw new StateError('zcmpi: init() was already called in this process (one communicator per process, as in MPI)');
  const env = o.env ?? process.env;
  let info;
  try {
    info = readJobInfo(env);
  } catch (e) {
    throw new BootstrapError(`zcmpi: init: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const guard = o.guard ?? info.guard;
  const transport = o.transport ?? info.transport;
  const opts = rankOptions(env);
  const spinUs = o.spinUs ?? opts.spinUs;
  const progressSpinUs = opts.progressSpinUs;
  initialized = true;

  const native = addon();
  let created: NativeCreated;
  try {
    created = native.commCreate({
      rank: info.rank, size: info.size, guard, transport, progressSpinUs,
      // More ranks on this host than CPUs: a rank that polls must let the one it waits for run.
      yieldWhenIdle: info.localSize > availableParallelism(),
      busyPollUs: opts.busyPollUs,
      // Like Open MPI's default binding: two ranks the kernel puts on one CPU (or moves
      // around on a busy host) wait milliseconds for each other's time slices.
      bindCpuIndex: opts.bind === 'core' && info.localSize > 1 && info.localSize <= availableParallelism() ? info.localRank : -1,
      guardedCopyMax: opts.guardedCopyMax, ucxPeerErrors: opts.ucxPeerErrors, singleCopyMin: opts.singleCopyMin,
      rdmaDevice: opts.rdmaDevice, rdmaGid: opts.rdmaGid, verbsEagerMax: opts.verbsEagerMax,
      verbsPeerTimeoutS: opts.verbsPeerTimeoutS,
      verbsInjectQpError: opts.verbsInjectQpError,
    });
  } catch (e) {
    // Nothing started (no engine, no guard handlers): the program may try again, e.g. with
    // another transport.
    initialized = false;
    throw fromNative(e);
  }
  if (guard !== 'off') takeOverInspectorSignal();
  if (guard === 'strict') armStrictExit(native);
  if (opts.stats) armStatsAtExit(native, info.rank, created.transport);
  // Thread-pool work (fs, crypto, zlib) may touch a guarded buffer: every libuv worker gets
  // the alternate signal stack the fault handler needs (libuv sizes its pool from this
  // variable, default 4).
  if (guard !== 'off') await Promise.all(native.prepareThreadPool(threadPoolSize()));

  let kv: KvClient;
  let addresses: Buffer[];
  try {
    kv = await connectKv(info, env);
    // Each rank's choice is published next to its address: a job whose ranks chose
    // different transports (auto on a host without an RDMA device) stops here, naming hosts.
    await kv.put(`zcmpi/transport/${info.rank}`, `${created.transport} ${info.host}`);
    await kv.put(`zcmpi/ucx-address/${info.rank}`, created.address);
    await kv.fence();
    const choices = await Promise.all(Array.from({ length: info.size }, (_, r) => kv.get(`zcmpi/transport/${r}`)));
    checkSameTransport(choices.map(c => c.toString()), transport);
    addresses = await Promise.all(Array.from({ length: info.size }, (_, r) => kv.get(`zcmpi/ucx-address/${r}`)));
  } catch (e) {
    native.commShutdown();
    if (e instanceof ZcmpiError) throw e;
    throw new BootstrapError(`zcmpi: init: the address exchange failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const engine = new Engine(native, created, info.rank, spinUs * 1000, guard === 'strict');
  try {
    native.commConnect(addresses);
    native.commSetNotify(engine.onNotify);
  } catch (e) {
    native.commShutdown();
    kv.close();
    throw fromNative(e);
  }
  // verbs queue pairs drop what arrives before they are connected (the sender would only
  // retry): no rank sends until every rank has connected.
  if (created.transport === 'verbs' && info.size > 1) {
    try {
      await kv.fence();
    } catch (e) {
      native.commShutdown();
      throw new BootstrapError(`zcmpi: init: the connection fence failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  const comm = new Communicator(engine, kv, info.rank, info.size, guard, created.transport);
  try {
    await primeHotPaths(comm, engine);
  } catch (e) {
    native.commShutdown();
    kv.close();
    throw e instanceof ZcmpiError ? e : fromNative(e);
  }
  return comm;
}

/** Every rank must run the same transport; the message names the ranks and hosts that differ. */
function checkSameTransport(choices: string[], asked: string): void {
  const parsed = choices.map((c, rank) => {
    const [name, ...host] = c.split(' ');
    return { rank, name, host: host.join(' ') };
  });
  const first = parsed[0];
  const odd = parsed.find(p => p.name !== first.name);
  if (!odd) return;
  const why = (p: { name: string }) => p.name === 'ucx' && asked === 'auto' ? ' (no RDMA device with an active port there)' : '';
  throw new TransportError(
    `zcmpi: init: ranks chose different transports with --transport ${asked}: rank ${first.rank} on host ${first.host} uses ${first.name}${why(first)}, ` +
    `rank ${odd.rank} on host ${odd.host} uses ${odd.name}${why(odd)}; give every host an RDMA device, or run with --transport ucx`,
    'ERR_TRANSPORT_UNAVAILABLE');
}

function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

import cluster, { type Worker } from 'node:cluster';
import { Socket } from 'node:net';
import os from 'node:os';
import { describe, inputRangeError, inputTypeError } from '../errors.js';
import { logger } from '../log.js';
import { IpcLink } from '../links/ipc.js';
import { CHANNEL_ENV, CHANNEL_FD } from './primary.js';
import { PipeLink } from '../links/pipe.js';
import { Collective } from '../hub/hub.js';
import type { ClusterOptions } from '../types.js';

const log = logger('cluster');

// A worker that dies sooner than this after its start counts as a crash loop: its
// replacement waits twice as long as the previous one (up to MAX_RESPAWN_DELAY).
const STABLE_AFTER_MS = 5000;
const FIRST_RESPAWN_DELAY = 100;
const MAX_RESPAWN_DELAY = 10_000;
// How long close() lets a worker exit on its own before killing it.
const EXIT_GRACE_MS = 3000;

function checkOptions(options: ClusterOptions): { workers: number; respawn: boolean } {
  if (typeof options !== 'object' || options === null) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected cluster options to be an object, got ${describe(options)}`);
  }
  const workers = options.workers ?? os.availableParallelism();
  if (!Number.isSafeInteger(workers) || workers < 0) {
    throw inputRangeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected \`workers\` to be an integer >= 0, got ${describe(options.workers)}`);
  }
  if (options.maxWorkerBacklog !== undefined && (!Number.isSafeInteger(options.maxWorkerBacklog) || options.maxWorkerBacklog < 1)) {
    throw inputRangeError(
      'ERR_COLLECTIVE_INVALID_OPTION',
      `Expected \`maxWorkerBacklog\` to be a positive integer, got ${describe(options.maxWorkerBacklog)}`,
    );
  }
  const respawn = options.respawn ?? true;
  if (typeof respawn !== 'boolean') {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected \`respawn\` to be a boolean, got ${describe(respawn)}`);
  }
  return { workers, respawn };
}

// Gives every worker forked from now on a pipe of collective's own at fd 4, unless the
// application already uses extra stdio slots (then workers talk over tagged IPC).
function reserveChannel(options: ClusterOptions): boolean {
  const settings = cluster.settings;
  const stdio = (settings.stdio as unknown[] | undefined) ?? (settings.silent ? ['pipe', 'pipe', 'pipe', 'ipc'] : [0, 1, 2, 'ipc']);
  const usable = stdio.length === CHANNEL_FD && stdio[3] === 'ipc';
  const setup: Parameters<typeof cluster.setupPrimary>[0] = {};
  if (options.exec !== undefined) setup.exec = options.exec;
  if (options.args !== undefined) setup.args = [...options.args];
  if (usable) setup.stdio = [...stdio, 'pipe'] as never;
  cluster.setupPrimary(setup);
  if (usable) process.env[CHANNEL_ENV] = String(CHANNEL_FD);
  else log('cluster stdio is customised (%o): workers will use tagged IPC', stdio);
  return usable;
}

function linkTo(worker: Worker, maxBacklogBytes: number | undefined): PipeLink | IpcLink {
  const pipe = worker.process.stdio?.[CHANNEL_FD];
  if (pipe instanceof Socket) {
    const link = new PipeLink(pipe, `worker:${worker.id}`, maxBacklogBytes === undefined ? {} : { maxBacklogBytes });
    // A worker too far behind to be caught up is replaced: its successor starts from a snapshot.
    link.once('close', () => {
      if (link.lagging && !worker.isDead()) {
        log('worker %d fell too far behind: replacing it', worker.id);
        worker.process.kill('SIGKILL');
      }
    });
    return link;
  }
  return new IpcLink(worker, `worker:${worker.id}`);
}

/**
 * The hub of a cluster primary: forks the workers, serves each as a member, replaces the ones
 * that die. Closing it stops the workers it forked.
 */
class ClusterHub extends Collective {
  readonly #forked = new Set<Worker>();
  readonly #startedAt = new Map<Worker, number>();
  #respawn = true;
  #respawnDelay = FIRST_RESPAWN_DELAY;
  #respawnTimers = new Set<NodeJS.Timeout>();
  #stopping = false;
  #maxBacklogBytes: number | undefined;
  // Node emits 'fork' on the next tick, so a worker forked just before start() is both in
  // cluster.workers and about to be announced: attach each worker once.
  readonly #attached = new WeakSet<Worker>();
  readonly #onFork = (worker: Worker): void => {
    if (this.#attached.has(worker)) return;
    this.#attached.add(worker);
    this.attachMember(linkTo(worker, this.#maxBacklogBytes));
  };
  readonly #onExit = (worker: Worker, code: number, signal: string): void => this.#workerOnExit(worker, code, signal);

  start(workers: number, respawn: boolean, maxBacklogBytes: number | undefined): void {
    this.#respawn = respawn;
    this.#maxBacklogBytes = maxBacklogBytes;
    for (const worker of Object.values(cluster.workers ?? {})) if (worker !== undefined) this.#onFork(worker);
    cluster.on('fork', this.#onFork);
    cluster.on('exit', this.#onExit);
    for (let i = 0; i < workers; i++) this.#fork();
  }

  #fork(): void {
    const worker = cluster.fork();
    // Node emits 'error' on a Worker whose IPC send failed because it is exiting (EPIPE,
    // ERR_IPC_CHANNEL_CLOSED: cluster's own messages, or the application's); with no listener
    // that would crash this primary. Its exit follows, and is handled there.
    worker.on('error', (error: Error) => log('worker %d: %s', worker.id, error.message));
    this.#forked.add(worker);
    this.#startedAt.set(worker, Date.now());
  }

  #workerOnExit(worker: Worker, code: number, signal: string): void {
    if (!this.#forked.delete(worker)) return;
    const lived = Date.now() - (this.#startedAt.get(worker) ?? 0);
    this.#startedAt.delete(worker);
    if (this.#stopping || !this.#respawn || worker.exitedAfterDisconnect) return;
    // (A worker killed for lagging has not exited after a disconnect: it is replaced too.)
    this.#respawnDelay = lived >= STABLE_AFTER_MS ? FIRST_RESPAWN_DELAY : Math.min(this.#respawnDelay * 2, MAX_RESPAWN_DELAY);
    const delay = lived >= STABLE_AFTER_MS ? 0 : this.#respawnDelay;
    log('worker %d exited (code %s, signal %s) after %d ms: respawning in %d ms', worker.id, code, signal, lived, delay);
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer);
      if (!this.#stopping) this.#fork();
    }, delay);
    this.#respawnTimers.add(timer);
  }

  /** Stops respawning, closes the member links and stops the workers this hub forked. */
  override async close(): Promise<void> {
    if (this.#stopping) return super.close();
    this.#stopping = true;
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
    cluster.off('fork', this.#onFork);
    cluster.off('exit', this.#onExit);
    await super.close();
    await Promise.all([...this.#forked].map(stopWorker));
    this.#forked.clear();
  }
}

function stopWorker(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), EXIT_GRACE_MS);
    worker.process.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.kill();
  });
}

/**
 * Starts the hub of this machine in the cluster primary and forks the workers (see
 * `ClusterOptions`). Resolves with the hub once the workers are forked (it does not wait for
 * them to be ready: each worker awaits `collective.ready()` itself).
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Collective> {
  if (!cluster.isPrimary) {
    throw inputTypeError(
      'ERR_COLLECTIVE_INVALID_OPTION',
      'collective.cluster() runs in the primary process; in a worker, use collective.ready() and collective.get/set',
    );
  }
  const { workers, respawn } = checkOptions(options);
  const { workers: _w, exec: _e, args: _a, respawn: _r, maxWorkerBacklog: _m, listen, peers, ...settings } = options;
  const hub = new ClusterHub(listen, peers, settings);
  try {
    await hub.listening();
  } catch (error) {
    // Nobody gets this hub to close: what it holds (timers, its persist directory) goes now.
    await hub.close();
    throw error;
  }
  reserveChannel(options);
  hub.start(workers, respawn, options.maxWorkerBacklog);
  return hub;
}

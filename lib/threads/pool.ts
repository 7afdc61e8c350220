import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { Options as TinypoolOptions, Tinypool } from 'tinypool';

type RunOptions = NonNullable<Parameters<Tinypool['run']>[1]>;
import { ProtocolError, inputTypeError } from '../errors.js';
import type { Link } from '../links/link.js';
import { PortLink } from '../links/port.js';
import type { TaskEnvelope } from './entry.js';
import { ownUrl } from './locate.js';

/** Options of `collective.pool()`: tinypool's, with `useAtomics` defaulting to `false`. */
export type PoolOptions = TinypoolOptions;

/** Where a thread's link is served: a hub, or the member of a cluster worker (three tiers). */
export type AttachThread = (link: Link) => void;

type TinypoolModule = typeof import('tinypool');
let loaded: TinypoolModule | undefined;

// Loaded on the first pool only, so that `require('collective')` never pulls tinypool in.
// tinypool is an ES module and `pool()` returns synchronously: Node.js loads an ES module with
// `require` from 20.19 on.
function tinypool(): TinypoolModule {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(ownUrl())('tinypool') as TinypoolModule;
  } catch (error) {
    throw new Error(`collective.pool() could not load tinypool (it needs Node.js >= 20.19): ${(error as Error).message}`);
  }
  return loaded;
}

// Every thread runs the ESM entry, from either build (a CommonJS task still shares the
// thread's member with it: see slot.ts).
function entryUrl(): string {
  return new URL('../../esm/threads/entry.js', ownUrl()).href;
}

function fileOf(filename: string | URL | null | undefined): string | undefined {
  if (filename === null || filename === undefined) return undefined;
  const text = filename instanceof URL ? filename.href : filename;
  return text.startsWith('file:') ? text : pathToFileURL(text).href;
}

/**
 * Connects `port` (the parent's end of a pool thread's channel) to `attach` once the thread
 * that adopted it has said which it is (`{ collectiveThread: threadId }`, before anything else).
 */
function serve(port: MessagePort, attach: AttachThread, members: Set<number>): void {
  const link = new PortLink(port, 'thread-port');
  // Threads must not keep the process alive (tinypool unrefs its idle threads): whoever waits
  // on a thread holds the thread's end of this port, not this one.
  link.unref();
  link.once('message', (first) => {
    const id = (first as { collectiveThread?: unknown } | null)?.collectiveThread;
    if (typeof id !== 'number') {
      link.close(new ProtocolError('a pool thread must say which it is first'));
      return;
    }
    members.add(id);
    link.once('close', () => members.delete(id));
    attach(link);
  });
}

/**
 * A real Tinypool whose threads are members of this process's store. Each task is wrapped
 * (the thread runs collective's entry, which runs the caller's handler): until every thread of
 * the pool has joined, a task also carries a port, which the thread that runs it adopts if it
 * is not a member yet. Threads recycled or destroyed leave; new ones join with their first
 * task. `useAtomics` defaults to false: a thread blocked in `Atomics.wait` between tasks would
 * not see the store's changes until its next task (the entry still sends a task's writes
 * before reporting it done, whatever `useAtomics` says).
 */
export function createPool(attach: AttachThread, options: PoolOptions = {}): Tinypool {
  if (typeof options !== 'object' || options === null) throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', 'Expected pool options to be an object');
  if (options.runtime === 'child_process') {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', "collective.pool() runs worker threads: `runtime: 'child_process'` is not supported (use collective.cluster() for processes)");
  }
  const { Tinypool: Base } = tinypool();
  const entry = entryUrl();
  const defaultFile = fileOf(options.filename);
  const defaultName = options.name ?? 'default';

  class CollectivePool extends Base {
    // The threads (by threadId) that are members. A task carries a port while some thread is
    // not, or while the pool may still start a thread for it.
    readonly #members = new Set<number>();

    #needsPort(): boolean {
      const threads = this.threads;
      if (threads.length < this.options.maxThreads) return true;
      return threads.some((thread) => !this.#members.has(thread.threadId));
    }

    override run(task: unknown, runOptions: RunOptions = {}): Promise<unknown> {
      const filename = fileOf(runOptions.filename) ?? defaultFile;
      if (filename === undefined) throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', 'collective.pool(): no `filename` for this task');
      const envelope: TaskEnvelope = { collectiveTask: 1, task, filename, name: runOptions.name ?? defaultName };
      let transferList = runOptions.transferList;
      if (this.#needsPort()) {
        const { port1, port2 } = new MessageChannel();
        serve(port1, attach, this.#members);
        envelope.port = port2;
        transferList = [...(transferList ?? []), port2];
      }
      return super.run(envelope, { ...runOptions, filename: entry, name: 'default', ...(transferList === undefined ? {} : { transferList }) });
    }
  }

  return new CollectivePool({ useAtomics: false, ...options, filename: entry, name: 'default' });
}

/**
 * Makes a plain `new Worker()` thread a member: posts it one message, `{ collective: port }`
 * (skip it in your own `parentPort` listeners with `isCollectiveIpcMessage`); the thread then
 * uses `collective.ready()` and the rest as usual.
 */
export function attachWorker(attach: AttachThread, worker: Worker): void {
  if (typeof worker?.postMessage !== 'function') throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', 'Expected a worker_threads Worker');
  const { port1, port2 } = new MessageChannel();
  const link = new PortLink(port1, `thread:${worker.threadId}`);
  link.unref(); // the Worker itself keeps the process alive, as long as the application wants
  attach(link);
  worker.postMessage({ collective: port2 }, [port2]);
}

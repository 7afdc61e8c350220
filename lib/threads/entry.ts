import { pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { joinThroughPort, threadSlot } from './slot.js';

/**
 * What `collective.pool()` hands tinypool for each task: the caller's task, the module and
 * export that handle it, and, until every thread of the pool is a member, a port to the store.
 */
export interface TaskEnvelope {
  collectiveTask: 1;
  task: unknown;
  filename: string;
  name: string;
  port?: import('node:worker_threads').MessagePort;
}

function isEnvelope(value: unknown): value is TaskEnvelope {
  return typeof value === 'object' && value !== null && (value as TaskEnvelope).collectiveTask === 1;
}

type Handler = (task: unknown) => unknown;
const handlers = new Map<string, Promise<Handler>>();

async function loadHandler(filename: string, name: string): Promise<Handler> {
  const module = (await import(filename.startsWith('file:') ? filename : pathToFileURL(filename).href)) as Record<string, unknown>;
  let handler = module[name];
  // A CommonJS module's exports arrive as `default`; a transpiled one's default export inside it.
  if (typeof handler !== 'function' && name === 'default') handler = (module.default as Record<string, unknown> | undefined)?.default;
  if (typeof handler !== 'function') throw new TypeError(`No handler function "${name}" exported from "${filename}"`);
  return handler as Handler;
}

// Makes this thread a member through `port`, unless it already is one (a port sent to a thread
// that is connected is closed at once, and the pool stops sending them once all are).
function adopt(port: TaskEnvelope['port']): void {
  // Which thread this is goes first, before the member's hello: the pool counts its members by thread.
  if (port !== undefined) joinThroughPort(port, `thread:${threadId}`, {}, JSON.stringify({ collectiveThread: threadId }));
}

/**
 * The module every thread of a `collective.pool()` runs: it adopts the port a task brings,
 * runs the task with the caller's handler, and sends the task's writes before reporting it
 * done, so that writes nobody awaited leave even if the thread then blocks (tinypool's
 * `useAtomics`) until its next task.
 */
export default async function collectiveTask(envelope: unknown): Promise<unknown> {
  if (!isEnvelope(envelope)) throw new TypeError('collective: this pool runs tasks given to its run()');
  adopt(envelope.port);
  const slot = threadSlot();
  // Whatever arrived while the thread was blocked between tasks, before the task reads.
  slot.link?.drain();
  const key = `${envelope.filename}#${envelope.name}`;
  let handler = handlers.get(key);
  if (handler === undefined) {
    handler = loadHandler(envelope.filename, envelope.name);
    handlers.set(key, handler);
    handler.catch(() => handlers.delete(key));
  }
  try {
    return await (await handler)(envelope.task);
  } finally {
    threadSlot().member?.sendNow();
  }
}

import cluster from 'node:cluster';
import { Socket } from 'node:net';
import { IpcLink } from '../links/ipc.js';
import type { Link } from '../links/link.js';
import { PipeLink } from '../links/pipe.js';

/** The environment variable through which a hub tells its workers where their pipe is. */
export const CHANNEL_ENV = 'COLLECTIVE_CHANNEL_FD';

/** The file descriptor of collective's pipe in a worker (the first after stdin/out/err, ipc). */
export const CHANNEL_FD = 4;

/**
 * In a cluster worker: the link to the hub in the primary. Workers forked after the hub
 * started have a pipe of collective's own (named by `COLLECTIVE_CHANNEL_FD`); older ones use
 * the IPC channel with tagged messages. Returns undefined when this process has neither.
 */
export function connectToPrimary(): Link | undefined {
  const fd = Number(process.env[CHANNEL_ENV]);
  if (cluster.isWorker && Number.isSafeInteger(fd) && fd > 2) {
    return new PipeLink(new Socket({ fd, readable: true, writable: true }), 'hub-pipe');
  }
  if (typeof process.send === 'function') return new IpcLink(process, 'hub-ipc');
  return undefined;
}

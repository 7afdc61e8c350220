import type { PortLink } from '../links/port.js';
import type { Member } from '../roles/member.js';

/**
 * A thread's link to its store, kept on the global object under a registered symbol: a task
 * may load collective both as ESM and as CommonJS (two module instances), and both must use
 * the one member this thread has.
 */
interface ThreadSlot {
  member?: Member | undefined;
  link?: PortLink | undefined;
}

const KEY = Symbol.for('collective.thread');

/** This thread's slot. */
export function threadSlot(): ThreadSlot {
  const global = globalThis as { [KEY]?: ThreadSlot };
  return (global[KEY] ??= {});
}

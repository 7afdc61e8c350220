import type { Member } from './member/member.js';
import type { Collective } from './hub/hub.js';
import type { ThreadRelay } from './hub/thread-relay.js';

/**
 * The store of this process, kept on the global object under a registered symbol. One process
 * may load collective twice, once through `import` (the ESM build) and once through `require`
 * (the CommonJS build): two module instances with state of their own. Both must find the one
 * hub started by `collective.cluster()`, and in a cluster worker the one member on the one
 * channel to the primary (a second member would open the channel again, and fail). The two
 * builds' classes differ, so nothing here is ever checked with `instanceof`: what one build
 * put here, the other uses through the same methods.
 */
export interface ProcessSlot {
  /** The hub started in this process by `collective.cluster()`. */
  hub?: Collective | undefined;
  /** In a cluster worker: its member, created on first use. */
  member?: Member | undefined;
  /** In a cluster worker with threads of its own: the middle tier serving them. */
  threadRelay?: ThreadRelay | undefined;
}

const KEY = Symbol.for('collective.process');

/** This process's slot, shared by every copy of collective loaded in it. */
export function processSlot(): ProcessSlot {
  const global = globalThis as { [KEY]?: ProcessSlot };
  return (global[KEY] ??= {});
}

import type { Link } from '../links/link.js';
import { decodeMemberMessage } from '../wire/member.js';

/** What the serving side of the member protocol does with each message of a member. */
export interface MemberHandlers {
  /** The member said hello (first, or again to resync): send it a snapshot. */
  hello(): void;
  /** A write message: intents with ids `first`, `first + 1`, ... (still to be validated). */
  write(first: number, intents: unknown[]): void;
  /** A malformed message, or a write before hello: drop the member, saying why. */
  reject(why: string): void;
}

/**
 * Dispatches a member's messages on `link` (wire/member.ts), for a hub's relay and for the
 * thread relay of a cluster worker alike: each is decoded, and a bad one or a write before
 * hello is rejected instead of handled.
 */
export function onMemberMessages(link: Link, handlers: MemberHandlers): void {
  let greeted = false;
  link.on('message', (raw) => {
    let message;
    try {
      message = decodeMemberMessage(raw);
    } catch (error) {
      handlers.reject((error as Error).message);
      return;
    }
    if (message.t === 'hello') {
      greeted = true;
      handlers.hello();
    } else if (!greeted) handlers.reject('write before hello');
    else handlers.write(message.i, message.w);
  });
}

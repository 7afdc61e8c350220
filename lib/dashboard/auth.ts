import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The dashboard's token check. Tokens are compared as SHA-256 digests, in constant time: the
 * digests have one length whatever was sent, so neither the comparison's time nor an early
 * length check tells anything about the token.
 */
export class TokenCheck {
  readonly #digest: Buffer | undefined;

  constructor(token: string | undefined) {
    this.#digest = token === undefined ? undefined : digest(token);
  }

  /** Whether `request` may be served: no token is set, or it carries the token (header or `?token=`). */
  allows(request: IncomingMessage, query: URLSearchParams): boolean {
    if (this.#digest === undefined) return true;
    const header = request.headers.authorization;
    const offered = header?.startsWith('Bearer ') === true ? header.slice(7) : query.get('token');
    return offered !== null && timingSafeEqual(digest(offered), this.#digest);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

import { describe, inputRangeError, inputTypeError } from '../errors.js';
import { formatPath, type Segments } from './path.js';

/** The longest `ttl` accepted: ten years, in milliseconds. */
export const MAX_TTL_MS = 315_360_000_000;

/** Options of `incr`, `decr` and `append`. */
export interface ExpiryOptions {
  /**
   * Arms an expiry `ttl` ms after this write, if none is armed at the path yet (a fixed window:
   * the first write of a window arms it). An integer from 1 to ten years.
   */
  ttl?: number | undefined;
}

/** Options of `set` and `cas`. */
export interface SetOptions {
  /**
   * The value expires `ttl` ms after this write (an integer from 1 to ten years). Without it, a
   * set clears any expiry at its path, as Redis `SET` does, unless `keepTtl`.
   */
  ttl?: number | undefined;
  /** Keep the expiry armed at the path (Redis `KEEPTTL`); not with `ttl`. */
  keepTtl?: boolean | undefined;
}

/** What a write asks of expiry, checked: a ttl in ms, or to keep the armed one. */
export interface WriteExpiry {
  readonly ttl?: number;
  readonly keepTtl?: true;
}

/** Checks a ttl (ms): an integer from 1 to MAX_TTL_MS, or a RangeError naming the path. */
export function checkTtl(ttl: unknown, path: Segments): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_MS) {
    throw inputRangeError(
      'ERR_COLLECTIVE_INVALID_TTL',
      `Invalid ttl for \`${formatPath(path)}\`: expected an integer number of milliseconds from 1 to ${MAX_TTL_MS} (ten years), got ${describe(ttl)}`,
    );
  }
  return ttl;
}

/**
 * Checks a write's options (`keepTtl` only where `keep` allows it, for set and cas); undefined
 * when they ask nothing of expiry.
 */
export function writeExpiry(options: unknown, path: Segments, keep: boolean): WriteExpiry | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected the options of the write to \`${formatPath(path)}\` to be an object, got ${describe(options)}`);
  }
  const { ttl, keepTtl } = options as SetOptions;
  if (keepTtl !== undefined && typeof keepTtl !== 'boolean') {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected keepTtl for \`${formatPath(path)}\` to be a boolean, got ${describe(keepTtl)}`);
  }
  if (keepTtl === true && !keep) throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `keepTtl is an option of set and cas only (\`${formatPath(path)}\`)`);
  if (ttl === undefined) return keepTtl === true ? { keepTtl: true } : undefined;
  if (keepTtl === true) throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `A write to \`${formatPath(path)}\` cannot both set a ttl and keep the one armed`);
  return { ttl: checkTtl(ttl, path) };
}

import { DEFAULTS } from '../defaults.js';
import { describe, inputRangeError, inputTypeError } from '../errors.js';
import { formatPath, isAllowedKey, type Segments } from './path.js';

/** A JSON value as the store holds it: deep-frozen, plain objects and arrays only. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

type JsonPrimitive = null | boolean | number | string;

// What no JSON value can hold: `set` refuses these at run time, and `JsonInput` at compile time.
type NotJson =
  | undefined
  | bigint
  | symbol
  | ((...args: never[]) => unknown)
  | Date
  | RegExp
  | Map<unknown, unknown>
  | Set<unknown>
  | WeakMap<object, unknown>
  | WeakSet<object>
  | Promise<unknown>
  | ArrayBufferView
  | ArrayBuffer;

/**
 * What a write accepts for a value of type `T`: `T` itself where it is JSON (objects and
 * arrays, mutable or not, interfaces included), `never` where it is not, so that the compiler
 * refuses what the store would refuse at run time: a `Date`, a function, a `Map`, `undefined`,
 * a BigInt, anywhere inside. (A class instance with only data fields passes the compiler; the
 * run-time check still refuses it.) Used as `value: T & JsonInput<T>`.
 */
export type JsonInput<T> = T extends JsonValue
  ? T
  : T extends JsonPrimitive
    ? T
    : T extends NotJson
      ? never
      : T extends readonly unknown[]
        ? { readonly [I in keyof T]: JsonInput<T[I]> }
        : T extends object
          ? { readonly [K in keyof T]: JsonInput<T[K]> }
          : never;

/** How large a stored value may be unless configured otherwise: 1 MiB of JSON text. */
export const DEFAULT_MAX_VALUE_BYTES = DEFAULTS.maxValueBytes;

/** Whether `value` is a plain object (not an array, not a class instance). */
export function isPlainObject(value: unknown): value is { readonly [key: string]: JsonValue } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Where a value is written, for error messages: a path's segments are formatted only on error. */
export type ValuePlace = string | Segments;

class ValueChecker {
  // With `adopt`, containers are checked and frozen in place rather than copied (see adoptValue).
  constructor(
    readonly place: ValuePlace,
    readonly maxBytes: number,
    readonly adopt = false,
  ) {}

  // Rough JSON length so far: exact for structure and numbers, string length for strings
  // (escapes are not counted), which is what the limit is documented to measure.
  size = 0;
  // The keys leading to the part being checked (for error messages), and the containers on the
  // way (to refuse a cycle; JSON.parse's output, adopted, holds none): stacks made at the first
  // container, so that nothing is allocated per key, nor at all for a primitive.
  #keys: (string | number)[] | undefined;
  #containers: object[] | undefined;

  get where(): string {
    return typeof this.place === 'string' ? this.place : formatPath(this.place);
  }

  fail(why: string): never {
    const at = (this.#keys ?? []).map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`)).join('');
    throw inputTypeError('ERR_COLLECTIVE_INVALID_VALUE', `Invalid value for \`${this.where}\`${at}: ${why}`);
  }

  grow(bytes: number): void {
    this.size += bytes;
    if (this.size > this.maxBytes) {
      throw inputRangeError('ERR_COLLECTIVE_VALUE_TOO_LARGE', `Value for \`${this.where}\` is over the limit of ${this.maxBytes} bytes of JSON`);
    }
  }

  /** Returns a deep-frozen copy of `value`, throwing on anything that is not JSON. */
  copy(value: unknown): JsonValue {
    switch (typeof value) {
      case 'string':
        this.grow(value.length + 2);
        return value;
      case 'number':
        if (!Number.isFinite(value)) this.fail(`${describe(value)} is not a finite number`);
        this.grow(8);
        return value;
      case 'boolean':
        this.grow(5);
        return value;
      case 'object':
        if (value === null) {
          this.grow(4);
          return null;
        }
        return this.copyContainer(value);
      default:
        return this.fail(`${describe(value)} is not a JSON value`);
    }
  }

  // A container checked and frozen: a copy, or with `adopt` the value itself (JSON.parse's
  // output, which holds no cycle, no hole and no class instance, but may hold a `__proto__`
  // key as an own property: refused here as anywhere).
  copyContainer(value: object): JsonValue {
    const keys = (this.#keys ??= []);
    const containers = this.adopt ? undefined : (this.#containers ??= []);
    if (containers?.includes(value)) this.fail('it contains a cycle');
    containers?.push(value);
    let result: JsonValue;
    if (Array.isArray(value)) {
      const items: JsonValue[] = this.adopt ? (value as JsonValue[]) : new Array(value.length);
      this.grow(2);
      for (let i = 0; i < value.length; i++) {
        keys.push(i);
        if (!(i in value)) this.fail('sparse arrays are not JSON');
        // Adopted, the item is the array's own: not written back, as the fast walk may have
        // frozen this array already (see fastCopy).
        const item = this.copy(value[i]);
        if (!this.adopt) items[i] = item;
        keys.pop();
        this.grow(1);
      }
      result = Object.freeze(items);
    } else if (isPlainObject(value)) {
      const entries: Record<string, JsonValue> = this.adopt ? (value as Record<string, JsonValue>) : {};
      this.grow(2);
      for (const key of Object.keys(value)) {
        keys.push(key);
        if (!isAllowedKey(key)) this.fail(`the key \`${key}\` is never allowed`);
        this.grow(key.length + 4);
        const item = this.copy((value as Record<string, unknown>)[key]);
        if (!this.adopt) entries[key] = item;
        keys.pop();
      }
      result = Object.freeze(entries);
    } else {
      this.fail(`${describe(value)} is not a plain object or array`);
    }
    containers?.pop();
    return result;
  }
}

// The fast walk: the same checks and the same size count as ValueChecker, without the key
// stack kept for error messages nor the container stack kept against cycles, which cost more
// than the copy itself for the small values most writes carry (measured: a two-key object
// 165 -> 125 ns copied, 115 -> 88 ns adopted). It gives up (FAST_GAVE_UP) at anything it would
// refuse, and past FAST_DEPTH containers deep (where a cycle would otherwise recurse until the
// stack overflows); ValueChecker then walks the value again and says why, or takes it.
const FAST_DEPTH = 64;
const FAST_GAVE_UP: unique symbol = Symbol('gave up');
type FastResult = JsonValue | typeof FAST_GAVE_UP;

class FastWalk {
  size = 0;
  maxBytes = 0;
  adopt = false;
  // Set while walking (see fastWalk).
  busy = false;

  item(value: unknown, depth: number): FastResult {
    switch (typeof value) {
      case 'string':
        this.size += value.length + 2;
        return value;
      case 'number':
        if (!Number.isFinite(value)) return FAST_GAVE_UP;
        this.size += 8;
        return value;
      case 'boolean':
        this.size += 5;
        return value;
      case 'object':
        if (value === null) {
          this.size += 4;
          return null;
        }
        return depth < FAST_DEPTH ? this.container(value, depth) : FAST_GAVE_UP;
      default:
        return FAST_GAVE_UP;
    }
  }

  container(value: object, depth: number): FastResult {
    if (Array.isArray(value)) {
      const length = value.length;
      const items: JsonValue[] = this.adopt ? (value as JsonValue[]) : new Array(length);
      this.size += 2 + length;
      for (let i = 0; i < length; i++) {
        if (!(i in value)) return FAST_GAVE_UP;
        const item = this.item(value[i], depth + 1);
        if (item === FAST_GAVE_UP || this.size > this.maxBytes) return FAST_GAVE_UP;
        if (!this.adopt) items[i] = item;
      }
      return Object.freeze(items);
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return FAST_GAVE_UP;
    const entries: Record<string, JsonValue> = this.adopt ? (value as Record<string, JsonValue>) : {};
    this.size += 2;
    // for-in, not Object.keys: the same keys in the same order (checkValue made sure that no
    // prototype adds any), without an array of them made for every object (measured on a
    // two-key object: 31-53 -> 12-25 ns).
    for (const key in value) {
      if (!isAllowedKey(key)) return FAST_GAVE_UP;
      this.size += key.length + 4;
      const item = this.item((value as Record<string, unknown>)[key], depth + 1);
      if (item === FAST_GAVE_UP || this.size > this.maxBytes) return FAST_GAVE_UP;
      if (!this.adopt) entries[key] = item;
    }
    return Object.freeze(entries);
  }
}

// The one fast walker, used again by every walk (one inside another, from a getter that writes
// to the store, is left to the checker: see FastWalk.busy).
const fastWalk = new FastWalk();

// `value` checked, and copied or adopted: by the fast walk, or where it gives up by ValueChecker.
function checkValue(value: unknown, where: ValuePlace, maxBytes: number, adopt: boolean): JsonValue {
  if (!fastWalk.busy && !objectPrototypeHasEnumerableKeys()) {
    fastWalk.size = 0;
    fastWalk.maxBytes = maxBytes;
    fastWalk.adopt = adopt;
    fastWalk.busy = true;
    let result: FastResult;
    try {
      result = fastWalk.item(value, 0);
    } finally {
      fastWalk.busy = false;
    }
    if (result !== FAST_GAVE_UP && fastWalk.size <= maxBytes) return result;
  }
  return new ValueChecker(where, maxBytes, adopt).copy(value);
}

/**
 * Whether a key was added to Object.prototype as an enumerable property (a polluted prototype):
 * a for-in would see it on every object, so walks that take an object's keys by for-in (the
 * fast walk here, the journal's encoder) take them otherwise then.
 */
export function objectPrototypeHasEnumerableKeys(): boolean {
  for (const _key in Object.prototype) return true;
  return false;
}

/**
 * Checks that `value` is a JSON value no larger than `maxBytes` and returns a deep-frozen copy
 * of it (primitives are returned as they are). The caller's object is left untouched, so a
 * later mutation of it cannot change the store. Throws a `TypeError` naming `where` and the
 * offending part, or a `RangeError` when the value is too large.
 */
export function toStoredValue(
  value: unknown,
  where: ValuePlace,
  maxBytes: number = DEFAULT_MAX_VALUE_BYTES,
): JsonValue {
  return checkValue(value, where, maxBytes, false);
}

/**
 * `toStoredValue` for a value the caller owns outright, fresh from `JSON.parse` (nobody else
 * holds a reference to it): checked the same way, and deep-frozen in place instead of copied.
 */
export function adoptValue(value: unknown, where: ValuePlace, maxBytes: number = DEFAULT_MAX_VALUE_BYTES): JsonValue {
  return checkValue(value, where, maxBytes, true);
}

/** Deep equality of two stored values (frozen JSON), short-cutting on shared references. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!Object.hasOwn(b, key)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

import { BaseReading, listedKeysOf } from '../core/base-keys.js';
import { LazyList } from '../core/lazy-list.js';
import type { JsonValue } from '../core/value.js';

/** How much JSON text a slice holds, at least (the last one may hold less). */
export const JSON_SLICE_CHARS = 256 * 1024;

// A subtree of at most this many values is encoded by one JSON.stringify call: native and fast,
// and short enough (well under a millisecond) not to hold a turn up.
const NATIVE_VALUES = 2048;

// How many values `value` holds (itself included), counting no further than `budget`; the keys
// of objects too large to count are kept in `listed`, so that they are listed once (listing the
// keys of an object of a million keys is the slow part: no turn should do it twice).
function valuesIn(value: JsonValue, budget: number, listed: Map<object, readonly string[]>): number {
  if (typeof value !== 'object' || value === null) return 1;
  // A snapshot's reading of a parent of many keys, or a list made as it is read, is walked,
  // never stringified whole.
  if (value instanceof BaseReading || value instanceof LazyList) return budget + 1;
  let count = 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && count <= budget; i++) count += valuesIn(value[i] as JsonValue, budget - count, listed);
    return count;
  }
  const keys = listed.get(value) ?? keysOf(value);
  if (keys.length >= budget) {
    listed.set(value, keys);
    return budget + 1;
  }
  for (let i = 0; i < keys.length && count <= budget; i++) count += valuesIn((value as Record<string, JsonValue>)[keys[i]!]!, budget - count, listed);
  return count;
}

// The keys of an object: those a fold listed for a parent of many keys (the object of a snapshot
// may be one: listing it anew would stop the event loop), else its own. A listed key the object
// no longer holds is left out as one whose value is undefined.
function keysOf(value: object): readonly string[] {
  return listedKeysOf(value) ?? Object.keys(value);
}

// An object being written, walked by key: a plain object through its keys, or a snapshot's
// reading of a parent of many keys (core/base-keys.ts) through its own.
interface ObjectWalk {
  readonly size: number;
  keyAt(index: number): string;
  valueOf(key: string): JsonValue | undefined;
}

// An array being written: a plain one by index, or a LazyList's items as they come.
type ArrayWalk = readonly JsonValue[] | Iterator<JsonValue, void, undefined>;

function walkOf(object: object, keys: readonly string[]): ObjectWalk {
  if (object instanceof BaseReading) return object;
  const values = object as Record<string, JsonValue | undefined>;
  return { size: keys.length, keyAt: (index) => keys[index]!, valueOf: (key) => values[key] };
}

/**
 * The JSON text of `value` (that of `JSON.stringify(value)`, but for the order of the keys of a
 * parent a fold listed: see `keysOf`) in slices of about `sliceChars` characters, so that a
 * caller can encode a large value over several turns of the event loop and send each slice as
 * it comes: no turn encodes more than a slice and a small subtree, and the whole text never
 * exists at once. `value` must not change meanwhile (stored values are frozen; a snapshot's
 * reading of a parent GC folds into in place keeps what it read). `nativeValues`: subtrees of at
 * most this many values are encoded in one call.
 */
export function* jsonSlices(value: JsonValue, sliceChars = JSON_SLICE_CHARS, nativeValues = NATIVE_VALUES): Generator<string, void, undefined> {
  const pieces: string[] = [];
  let size = 0;
  // Containers being written, each with where it is: [an array's walk, or an object's, the next
  // index, whether it has written a member yet].
  const stack: [{ array: ArrayWalk } | ObjectWalk, number, boolean][] = [];
  const open = (container: { array: ArrayWalk } | ObjectWalk): void => {
    pieces.push('array' in container ? '[' : '{');
    stack.push([container, 0, false]);
    size += 1;
  };
  // Objects whose keys were listed while counting (see valuesIn): each is opened next.
  const listed = new Map<object, readonly string[]>();
  // A value: small ones natively, large containers opened to be walked.
  const write = (item: JsonValue): void => {
    if (typeof item === 'object' && item !== null && valuesIn(item, nativeValues, listed) > nativeValues) {
      if (Array.isArray(item)) open({ array: item as readonly JsonValue[] });
      else if (item instanceof LazyList) open({ array: item.items() });
      else {
        open(walkOf(item, item instanceof BaseReading ? [] : (listed.get(item) ?? keysOf(item))));
        listed.delete(item);
      }
      return;
    }
    const text = JSON.stringify(item);
    pieces.push(text);
    size += text.length;
  };
  write(value);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [container, index] = top;
    if ('array' in container) {
      // The next item: by index, or from the list as it comes (done: the end).
      const array = container.array;
      let item: JsonValue | undefined;
      let done: boolean;
      if (Array.isArray(array)) {
        done = index === array.length;
        item = done ? undefined : (array as readonly JsonValue[])[index];
      } else {
        const next = (array as Iterator<JsonValue, void, undefined>).next();
        done = next.done === true;
        item = next.done === true ? undefined : next.value;
      }
      if (done) {
        stack.pop();
        pieces.push(']');
        size += 1;
      } else {
        top[1] = index + 1;
        if (index > 0) {
          pieces.push(',');
          size += 1;
        }
        // As JSON.stringify: what has no JSON form (undefined) is null in an array.
        if (item === undefined) {
          pieces.push('null');
          size += 4;
        } else write(item);
      }
    } else if (index === container.size) {
      stack.pop();
      pieces.push('}');
      size += 1;
    } else {
      top[1] = index + 1;
      const key = container.keyAt(index);
      const item = container.valueOf(key);
      // ... and left out of an object, key and all.
      if (item !== undefined) {
        const label = `${top[2] ? ',' : ''}${JSON.stringify(key)}:`;
        top[2] = true;
        pieces.push(label);
        size += label.length;
        write(item);
      }
    }
    if (size >= sliceChars) {
      yield pieces.join('');
      pieces.length = 0;
      size = 0;
    }
  }
  if (pieces.length > 0) yield pieces.join('');
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Replica } from '../../lib/core/replica.js';
import { HubRelay } from '../../lib/hub/relay.js';
import { MemoryLink } from '../../lib/links/memory.js';
import { Member } from '../../lib/member/member.js';
import { MEMBER_PROTOCOL_VERSION, decodeHubMessage, decodeIntent, decodeMemberMessage, encodeIntent, writeMessage } from '../../lib/wire/member.js';
import { waitFor } from '../helpers/wait.js';

// The trust boundary between a worker (or thread) and its hub: what each side accepts.
const limits = { maxDepth: 4, maxValueBytes: 64 };

describe('member to hub messages', () => {
  it.each([
    ['a hello of this version', { t: 'hello', v: MEMBER_PROTOCOL_VERSION }],
    ['a hello saying its pid and thread id', { t: 'hello', v: MEMBER_PROTOCOL_VERSION, p: 4242, th: 3 }],
    ['a worker listing the threads it serves', { t: 'serves', m: [{ n: 1, p: 4242, th: 3, s: 1700000000000, w: 12, q: 1, b: 0 }, { n: 2, s: 0, w: 0, q: 0, b: 0, y: 0 }] }],
  ])('accepts %s', (_what, message) => {
    expect(decodeMemberMessage(message)).toEqual(message);
  });

  it('accepts a write as an array: the first intent id, then the intents', () => {
    expect(decodeMemberMessage([1, { k: 'set', p: ['a'], v: 1 }, [0, 'b', 2]])).toEqual({ t: 'write', i: 1, w: [{ k: 'set', p: ['a'], v: 1 }, [0, 'b', 2]] });
    expect(decodeMemberMessage(writeMessage(5, [[2, 'n', 1]]))).toEqual({ t: 'write', i: 5, w: [[2, 'n', 1]] });
    expect(decodeMemberMessage([3])).toEqual({ t: 'write', i: 3, w: [] });
  });

  it.each([
    ['not an object', 'hello', /not an object/],
    ['an array that does not start with an intent id', ['x', [0, 'a', 1]], /malformed write/],
    ['another version', { t: 'hello', v: 99 }, /unsupported protocol version 99/],
    ['an unknown type', { t: 'teleport' }, /unknown message type "teleport"/],
    ['a hello with a pid that is not a count', { t: 'hello', v: MEMBER_PROTOCOL_VERSION, p: '12; rm -rf' }, /malformed hello/],
    ['served members that are not a list', { t: 'serves', m: { n: 1 } }, /malformed served members/],
    ['more served members than a message may list', { t: 'serves', m: Array.from({ length: 1025 }, (_, i) => ({ n: i + 1, s: 0, w: 0, q: 0, b: 0 })) }, /malformed served members/],
    ['a served member with a field that is not a count', { t: 'serves', m: [{ n: 1, s: 0, w: 'many', q: 0, b: 0 }] }, /malformed served member/],
    ['a served member with a synced flag other than 0', { t: 'serves', m: [{ n: 1, s: 0, w: 0, q: 0, b: 0, y: 1 }] }, /malformed served member/],
    ['a served member numbered 0', { t: 'serves', m: [{ n: 0, s: 0, w: 0, q: 0, b: 0 }] }, /malformed served member/],
    ['a hello with a negative thread id', { t: 'hello', v: MEMBER_PROTOCOL_VERSION, p: 1, th: -1 }, /malformed hello/],
    ['an empty array', [], /malformed write/],
    ['a write numbered 0', [0, [0, 'a', 1]], /malformed write/],
    ['a write in the object form of earlier versions', { t: 'write', i: 1, w: [] }, /unknown message type "write"/],
  ])('refuses %s, saying why', (_what, message, why) => {
    expect(() => decodeMemberMessage(message)).toThrow(why);
  });
});

describe('intents (one write of a member)', () => {
  it('checks the path and copies and freezes the value, within the hub’s limits', () => {
    const value = { deep: [1, 'x'] };
    const intent = decodeIntent({ k: 'set', p: ['a', 'b'], v: value }, 7, limits);
    expect(intent).toEqual({ id: 7, kind: 'set', path: ['a', 'b'], value });
    expect(Object.isFrozen(intent.value)).toBe(true);
    expect(decodeIntent({ k: 'cas', p: ['lock'], v: 'me' }, 8, limits)).toMatchObject({ kind: 'cas', expected: null, value: 'me' });
    expect(decodeIntent({ k: 'delete', p: ['a'] }, 9, limits)).toEqual({ id: 9, kind: 'delete', path: ['a'] });
  });

  it.each([
    ['an unknown kind', { k: 'drop', p: ['a'] }, /unknown intent kind/],
    ['a __proto__ segment', { k: 'set', p: ['__proto__', 'x'], v: 1 }, /never allowed/],
    ['a constructor key in a value', { k: 'set', p: ['a'], v: JSON.parse('{"constructor":1}') }, /never allowed/],
    ['an empty segment', { k: 'set', p: ['a', ''], v: 1 }, /empty/],
    ['a path too deep', { k: 'set', p: ['a', 'b', 'c', 'd', 'e'], v: 1 }, /limit is 4/],
    ['a value over the size limit', { k: 'set', p: ['a'], v: 'x'.repeat(100) }, /over the limit of 64/],
    ['an incr by a string', { k: 'incr', p: ['n'], v: '1' }, /non-number/],
    ['an incr by NaN (null in JSON)', { k: 'incr', p: ['n'], v: null }, /non-number/],
  ])('refuses %s', (_what, intent, why) => {
    expect(() => decodeIntent(intent, 1, limits)).toThrow(why);
  });
});

describe('plain writes (set, delete, incr, append without expiry options) as arrays', () => {
  it('are sent as [code, path, value], the path dotted unless a segment holds a dot, and read back as the object form is', () => {
    expect(encodeIntent('set', ['a', 'b'], { x: 1 })).toEqual([0, 'a.b', { x: 1 }]);
    expect(encodeIntent('set', ['a'], null)).toEqual([0, 'a', null]);
    expect(encodeIntent('delete', ['a'], undefined)).toEqual([1, 'a', 0]);
    expect(encodeIntent('incr', ['n'], -2)).toEqual([2, 'n', -2]);
    expect(encodeIntent('append', ['log', 'x.y'], 'e')).toEqual([3, ['log', 'x.y'], 'e']);
    expect(encodeIntent('set', ['x.y', 'z'], 1)).toEqual([0, ['x.y', 'z'], 1]);
    expect(encodeIntent('set', ['a', 'b', 'c'], 1)).toEqual([0, 'a.b.c', 1]);
    // What the hub decides, or sets a time, keeps the object form.
    expect(encodeIntent('cas', ['lock'], 'me', null)).toEqual({ k: 'cas', p: ['lock'], v: 'me', e: null });
    expect(encodeIntent('set', ['s'], 1, undefined, { ttl: 1000 })).toEqual({ k: 'set', p: ['s'], v: 1, t: 1000 });
    expect(encodeIntent('ttl', ['s'], 1000)).toEqual({ k: 'ttl', p: ['s'], v: 1000 });
    for (const [kind, path, value] of [['set', ['a', 'b'], { deep: [1, 'x'] }], ['set', ['a'], null], ['delete', ['a', 'b.c'], undefined], ['incr', ['n'], 3], ['append', ['log'], 'e']] as const) {
      const plain = JSON.parse(JSON.stringify(encodeIntent(kind, path, value))) as unknown;
      const object = value === undefined ? { k: kind, p: [...path] } : { k: kind, p: [...path], v: value };
      // The same intent, with the array it came as (what the hub streams on as it is).
      const { plain: asSent, ...decoded } = decodeIntent(plain, 3, limits);
      expect(decoded).toEqual(decodeIntent(object, 3, limits));
      expect(asSent).toBe(plain);
    }
    // A writer that had the path as a string sends it as it is.
    expect(encodeIntent('incr', ['n', 'm'], 1, undefined, undefined, 'n.m')).toEqual([2, 'n.m', 1]);
  });

  it.each([
    ['an unknown code', [7, 'a', 1], /unknown intent kind/],
    ['a code that is not a number', ['set', 'a', 1], /unknown intent kind/],
    ['a value missing', [0, 'a'], /malformed plain intent/],
    ['more than a value', [0, 'a', 1, 'x'], /malformed plain intent/],
    ['a __proto__ segment in a dotted path', [0, '__proto__.x', 1], /never allowed/],
    ['an empty segment in a dotted path', [0, 'a..b', 1], /empty/],
    ['a dotted path too deep', [0, 'a.b.c.d.e', 1], /limit is 4/],
    ['a path that is neither', [0, 5, 1], /path/],
    ['a delete with a value', [1, 'a', 1], /delete intent with a value/],
    ['an incr by a string', [2, 'n', '1'], /non-number/],
    ['a value over the size limit', [0, 'a', 'x'.repeat(100)], /over the limit of 64/],
    ['a constructor key in a value', [0, 'a', JSON.parse('{"constructor":1}')], /never allowed/],
  ])('refuses as an intent %s', (_what, intent, why) => {
    expect(() => decodeIntent(intent, 1, limits)).toThrow(why);
  });

  it('are read as stream items: numbered, their origin filled in or given, next to own writes', () => {
    const message = decodeHubMessage({ t: 'stream', n: 5, s: [[0, 'a.b', { x: 1 }], 3, [2, ['n'], 2, 'peer'], [9, 1000], [1, 'a', 0]] }, limits, 'hub');
    expect(message).toEqual({
      t: 'stream',
      n: 5,
      s: [{ k: 'set', p: ['a', 'b'], v: { x: 1 }, n: 5, o: 'hub' }, 3, { k: 'incr', p: ['n'], v: 2, n: 7, o: 'peer' }, [9, 1000], { k: 'delete', p: ['a'], n: 9, o: 'hub' }],
    });
    if (message.t === 'stream') expect(Object.isFrozen((message.s[0] as { v?: unknown }).v)).toBe(true);
  });

  it.each([
    ['an unknown code', [9, 'a', 1]],
    ['an origin that is not a string', [0, 'a', 1, 5]],
    ['more than an origin', [0, 'a', 1, 'peer', 'x']],
    ['a bad dotted path', [0, 'prototype.x', 1]],
    ['a delete with a value', [1, 'a', 1]],
    ['an incr by a string', [2, 'n', '1']],
    ['a value that is not JSON', [0, 'a', { x: Number.NaN }]],
  ])('refuses as a stream item %s', (_what, item) => {
    expect(() => decodeHubMessage({ t: 'stream', n: 1, s: [item] }, limits, 'hub')).toThrow(TypeError);
  });
});

describe('hub to member messages', () => {
  it('numbers stream items and fills in their origin; checks acknowledgements and replies', () => {
    const message = decodeHubMessage({ t: 'stream', n: 5, s: [{ k: 'set', p: ['a'], v: 1 }, { k: 'incr', p: ['b'], v: 2, o: 'peer' }], a: [[1, 3]], r: [{ i: 2, ok: false }] }, limits, 'hub');
    expect(message).toEqual({ t: 'stream', n: 5, s: [{ k: 'set', p: ['a'], v: 1, n: 5, o: 'hub' }, { k: 'incr', p: ['b'], v: 2, n: 6, o: 'peer' }], a: [[1, 3]], r: [{ i: 2, ok: false }] });
  });

  it('takes restated items: the whole value now at the path, or none when it is gone, whatever the write’s kind', () => {
    const message = decodeHubMessage({ t: 'stream', n: 1, s: [{ k: 'incr', p: ['a'], v: { b: 1 }, r: 1 }, { k: 'set', p: ['c'], r: 1 }] }, limits, 'hub');
    expect(message).toEqual({ t: 'stream', n: 1, s: [{ k: 'incr', p: ['a'], v: { b: 1 }, r: 1, n: 1, o: 'hub' }, { k: 'set', p: ['c'], r: 1, n: 2, o: 'hub' }] });
    if (message.t === 'stream') expect(Object.isFrozen((message.s[0] as { v?: unknown }).v)).toBe(true);
  });

  it('keeps a member’s own writes as their intent ids, at their positions', () => {
    const message = decodeHubMessage({ t: 'stream', n: 3, s: [7, { k: 'set', p: ['a'], v: 1 }, 8, [9, 1000]] }, limits, 'hub');
    expect(message).toEqual({ t: 'stream', n: 3, s: [7, { k: 'set', p: ['a'], v: 1, n: 4, o: 'hub' }, 8, [9, 1000]] });
  });

  it.each([
    ['own writes out of order', { t: 'stream', n: 1, s: [3, 2] }],
    ['an own write that is not an id', { t: 'stream', n: 1, s: [1.5] }],
    ['an own write with id 0', { t: 'stream', n: 1, s: [0] }],
    ['an own write with a bad time', { t: 'stream', n: 1, s: [[1, -5]] }],
    ['an own write with more than a time', { t: 'stream', n: 1, s: [[1, 5, 6]] }],
    ['a restated item with another flag', { t: 'stream', n: 1, s: [{ k: 'set', p: ['a'], v: 1, r: 2 }] }],
    ['a restated item with a value that is not JSON', { t: 'stream', n: 1, s: [{ k: 'set', p: ['a'], v: { x: Number.NaN }, r: 1 }] }],
    ['a snapshot of another version', { t: 'snapshot', v: 9, hub: 'h', you: 1, at: 0, w: 0, limits, tree: {} }],
    ['a snapshot without limits', { t: 'snapshot', v: MEMBER_PROTOCOL_VERSION, hub: 'h', you: 1, at: 0, w: 0, tree: {} }],
    ['a stream item with a bad path', { t: 'stream', n: 1, s: [{ k: 'set', p: ['prototype'], v: 1 }] }],
    ['a delete item with a value', { t: 'stream', n: 1, s: [{ k: 'delete', p: ['a'], v: 1 }] }],
    ['a malformed acknowledgement', { t: 'stream', n: 1, s: [], a: [[1]] }],
    ['a malformed reply', { t: 'stream', n: 1, s: [], r: [{ i: 'x', ok: true }] }],
  ])('refuses %s', (_what, message) => {
    expect(() => decodeHubMessage(message, limits, 'hub')).toThrow(TypeError);
  });
});

describe('a hub facing broken members (fuzz)', () => {
  it('drops them, applies nothing they should not write, keeps serving a good member, and leaves Object.prototype alone', { timeout: 60_000 }, async () => {
    const replica = new Replica({ onApplied: (op) => relay.applied(op) });
    const relay = new HubRelay(replica, () => undefined);
    const [served, mine] = MemoryLink.pair('good');
    relay.attach(served);
    const good = new Member(mine);
    await good.ready();
    const junkValue = fc.oneof(fc.jsonValue(), fc.constant(JSON.parse('{"__proto__":{"polluted":1}}')));
    const junkIntent = fc.record({
      k: fc.oneof(fc.constantFrom('set', 'delete', 'incr', 'append', 'cas'), fc.string()),
      p: fc.oneof(fc.array(fc.oneof(fc.constantFrom('a', '__proto__', 'constructor', ''), fc.string()), { maxLength: 3 }), fc.string()),
      v: junkValue,
      e: junkValue,
    });
    // Plain writes too: [code, path, value, ...], every part junk or not.
    const junkPath = fc.oneof(fc.constantFrom('a', 'a.b', '__proto__', '__proto__.x', 'a..b', '', 'constructor.x'), fc.string(), fc.array(fc.oneof(fc.constantFrom('a', '__proto__', ''), fc.string()), { maxLength: 3 }));
    const junkPlain = fc.oneof(
      fc.tuple(fc.oneof(fc.integer({ min: -1, max: 5 }), fc.string()), junkPath, junkValue),
      fc.array(fc.oneof(fc.integer({ min: -1, max: 5 }), junkPath, junkValue), { maxLength: 5 }),
    );
    const junkMessage = fc.oneof(
      fc.jsonValue(),
      fc.record({ t: fc.constantFrom('hello', 'write', 'x'), v: fc.oneof(fc.constant(MEMBER_PROTOCOL_VERSION), fc.integer()), i: fc.integer(), w: fc.array(fc.oneof(junkIntent, junkPlain), { maxLength: 4 }) }),
      fc.tuple(fc.integer({ min: -1, max: 3 }), fc.array(fc.oneof(junkIntent, junkPlain), { maxLength: 4 })).map(([first, intents]) => [first, ...intents]),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(junkMessage, { minLength: 1, maxLength: 5 }), async (messages) => {
        const [theirs, broken] = MemoryLink.pair('broken');
        relay.attach(theirs);
        broken.on('message', () => undefined);
        // Half of them as text of another form than JSON.stringify writes (a space after every
        // comma, inside strings too): what the hub streams on as that text, the good member
        // must read as the hub did.
        for (const [index, message] of messages.entries()) {
          if (index % 2 === 0) broken.send(message as object);
          else broken.sendEncoded(JSON.stringify(message).replaceAll(',', ', '));
        }
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        broken.close();
      }),
      { numRuns: Math.max(300, Math.floor(Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 0) / 2)) },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Whatever a broken member got applied went through the checks: no key anywhere reaches a
    // prototype. (An empty key is no path segment, but a value may hold one, as any JSON may:
    // the tree does not tell the two apart here, so it is not checked here; decodeIntent's
    // tests refuse empty segments.)
    const clean = (value: unknown): boolean =>
      typeof value !== 'object' || value === null || Object.keys(value).every((key) => !['__proto__', 'prototype', 'constructor'].includes(key) && clean((value as Record<string, unknown>)[key]));
    expect(clean(replica.get())).toBe(true);
    await good.set('still', 'served');
    await waitFor(() => replica.get('still') === 'served', 2000, 'the good member’s write');
    expect(good.get()).toEqual(replica.get());
    expect(relay.stats().rejectedMessages).toBeGreaterThan(0);
    relay.close();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameError, PEER_PROTOCOL_VERSION, encodeFrame, encodeFrames } from '../../lib/wire/frame.js';

// The version byte of this protocol, in hex.
const V = PEER_PROTOCOL_VERSION.toString(16).padStart(2, '0');

describe('encodeFrame', () => {
  it('lays out length, version, type and JSON, byte by byte', () => {
    const frame = encodeFrame('op', { a: 1 });
    expect(frame.toString('hex')).toBe(
      '0000000b' + // 11 bytes follow
        V + // the protocol version
        '02' + // type length 2
        Buffer.from('op').toString('hex') +
        Buffer.from('{"a":1}').toString('hex'),
    );
  });

  it('refuses a type that is not a short lowercase word, and frames over the limit', () => {
    expect(() => encodeFrame('OP', 1)).toThrow(TypeError);
    expect(() => encodeFrame('', 1)).toThrow(TypeError);
    expect(() => encodeFrame('op', 'x'.repeat(100), 50)).toThrow(RangeError);
  });
});

describe('FrameDecoder', () => {
  it('decodes a frame given byte by byte', () => {
    const decoder = new FrameDecoder();
    const bytes = encodeFrame('hello', { id: 'n1', v: [1, 2] });
    const frames = [];
    for (const byte of bytes) frames.push(...decoder.push(Buffer.from([byte])));
    expect(frames).toEqual([{ type: 'hello', payload: { id: 'n1', v: [1, 2] } }]);
    expect(decoder.buffered).toBe(0);
  });

  it('decodes several frames merged in one chunk, and a frame split across chunks', () => {
    const decoder = new FrameDecoder();
    const a = encodeFrame('ops', [1]);
    const b = encodeFrame('synced', null);
    const c = encodeFrame('ping', { t: 5 });
    const all = Buffer.concat([a, b, c]);
    expect(decoder.push(all.subarray(0, a.length + 3))).toEqual([{ type: 'ops', payload: [1] }]);
    expect(decoder.push(all.subarray(a.length + 3, all.length - 2))).toEqual([{ type: 'synced', payload: null }]);
    expect(decoder.push(all.subarray(all.length - 2))).toEqual([{ type: 'ping', payload: { t: 5 } }]);
  });

  it('refuses a length over the limit as soon as the 4 length bytes arrive (4 GiB costs nothing)', () => {
    // After a first good frame: a peer that sent one frame too large.
    const decoder = new FrameDecoder(1024);
    decoder.push(encodeFrame('ping', null));
    expect(() => decoder.push(Buffer.from('ffffffff', 'hex'))).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_FRAME_TOO_LARGE' }));
    const second = new FrameDecoder(1024);
    second.push(encodeFrame('ping', null));
    expect(() => second.push(Buffer.from('00000401', 'hex'))).toThrow(/over the limit of 1024/);
  });

  it.each([
    ['a short length', Buffer.from('0000000101', 'hex'), 'ERR_COLLECTIVE_NOT_A_PEER'],
    ['another protocol version', Buffer.from('00000005' + '09' + '01' + '61' + '3132', 'hex'), 'ERR_COLLECTIVE_PROTOCOL_VERSION'],
    ['the previous protocol version', Buffer.from('00000005' + '01' + '01' + '61' + '3132', 'hex'), 'ERR_COLLECTIVE_PROTOCOL_VERSION'],
    ['a zero type length', Buffer.from('00000004' + V + '00' + '3132', 'hex'), 'ERR_COLLECTIVE_FRAME_TYPE'],
    ['a type length past the frame', Buffer.from('00000004' + V + '20' + '6161', 'hex'), 'ERR_COLLECTIVE_FRAME_TYPE'],
    ['an upper-case type', Buffer.from('00000005' + V + '02' + '4f50' + '31', 'hex'), 'ERR_COLLECTIVE_FRAME_TYPE'],
    ['malformed JSON', Buffer.concat([Buffer.from('00000009' + V + '02', 'hex'), Buffer.from('op{"a":')]), 'ERR_COLLECTIVE_FRAME_JSON'],
  ])('refuses %s with a FrameError (%s)', (_name, bytes, code) => {
    expect(() => new FrameDecoder(1024).push(bytes)).toThrow(expect.objectContaining({ name: 'FrameError', code }));
  });

  it.each([
    ['an HTTP request', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', /look like HTTP \("GET \/ HTTP\/1.1"\)/],
    ['an HTTP response', 'HTTP/1.1 400 Bad Request\r\n\r\n', /look like HTTP/],
    ['a TLS client hello', Buffer.from('160301020001', 'hex'), /look like TLS \(is `tls` set on one side only\?\)/],
    ['a TLS alert', Buffer.from('150303000202', 'hex'), /look like TLS/],
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.2\r\n', /look like SSH/],
    ['a Redis error line', '-ERR unknown command\r\n', /the first bytes are text "-ERR unknown command/],
    ['binary garbage', Buffer.from('ffeeddccbbaa', 'hex'), /the first bytes are 0xffeeddccbbaa/],
  ])('names what the first bytes are when they are not a collective peer: %s', (_name, bytes, message) => {
    const error = (() => {
      try {
        new FrameDecoder(1024).push(Buffer.from(bytes));
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ name: 'FrameError', code: 'ERR_COLLECTIVE_NOT_A_PEER', message: expect.stringMatching(message) });
  });

  it('round-trips any JSON payload split at any point', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('op', 'ops', 'hello', 'auth:reply'), fc.nat(), (payload, type, cut) => {
        const bytes = encodeFrame(type, payload);
        const at = cut % (bytes.length + 1);
        const decoder = new FrameDecoder();
        const frames = [...decoder.push(bytes.subarray(0, at)), ...decoder.push(bytes.subarray(at))];
        expect(frames).toEqual([{ type, payload: JSON.parse(JSON.stringify(payload)) }]);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws anything but a FrameError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          new FrameDecoder(256).push(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('messages over the frame limit', () => {
  const limit = 64 * 1024;

  it('travel as `more` frames, none over the limit, and decode to the message, fed byte by byte or whole', () => {
    // Multi-byte characters, so that parts end in the middle of one.
    const message = { values: Array.from({ length: 300 }, (_, i) => `é€😀 ${i} ${'x'.repeat(700)}`) };
    const frames = encodeFrames('delta', message, limit);
    expect(frames.length).toBeGreaterThan(3);
    for (const frame of frames) expect(frame.length - 4).toBeLessThanOrEqual(limit);
    expect(frames.slice(0, -1).every((frame) => frame.toString('latin1', 6, 10) === 'more')).toBe(true);
    const all = Buffer.concat(frames);
    expect(new FrameDecoder(limit).push(all)).toEqual([{ type: 'delta', payload: message }]);
    const decoder = new FrameDecoder(limit);
    const got = [];
    for (let i = 0; i < all.length; i += 997) got.push(...decoder.push(all.subarray(i, i + 997)));
    expect(got).toEqual([{ type: 'delta', payload: message }]);
    expect(decoder.buffered).toBe(0);
  });

  it('stay one frame when they fit', () => {
    expect(encodeFrames('ops', [1, 2, 3], limit)).toEqual([encodeFrame('ops', [1, 2, 3], limit)]);
  });

  it('are refused past the message limit, as soon as the parts pass it', () => {
    const frames = encodeFrames('snapshot', 'y'.repeat(300 * 1024), limit);
    const decoder = new FrameDecoder(limit, 200 * 1024);
    expect(() => {
      for (const frame of frames) decoder.push(frame);
    }).toThrow(/over the limit of 204800/);
  });

  it('a `more` frame can only be closed by a message whose whole payload is JSON', () => {
    const decoder = new FrameDecoder(limit);
    expect(decoder.push(encodeFrame('more', '{"a":'))).toEqual([]); // a JSON string, not raw bytes: garbage once joined
    expect(() => decoder.push(encodeFrame('ops', 1))).toThrow(FrameError);
  });
});

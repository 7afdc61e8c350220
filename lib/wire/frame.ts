/**
 * Frames between hubs, on TCP:
 *
 *   u32 (big-endian)  length of everything after these 4 bytes
 *   u8                protocol version
 *   u8                length T of the type (1..32)
 *   T bytes           the message type, ASCII `[a-z:-]` (a string literal, never a number)
 *   the rest          the payload, UTF-8 JSON
 *
 * A message too big for one frame (a snapshot of a large store, a delta carrying big values)
 * travels as `more` frames, each holding the next raw bytes of its JSON payload, closed by a
 * frame of the message's own type holding the last bytes. Nothing can come between them: the
 * sender writes them in one go. The receiver reassembles at most `maxMessageBytes`.
 *
 * The decoder is a unit of its own, fed bytes as they come and tested byte by byte: frames
 * split across chunks, several in one chunk, lengths past the limit, garbage. It checks the
 * length before buffering anything, so a peer announcing 4 GiB costs nothing.
 */

import { DEFAULTS } from '../defaults.js';
import { ProtocolError, type LinkErrorCode } from '../errors.js';

/**
 * The hub-to-hub protocol version; a frame of another version is refused. 2: deltas and
 * `synced` are numbered, so that a receiver takes a delta's vector only once every piece came.
 */
export const PEER_PROTOCOL_VERSION = 2;

/** The largest frame accepted unless configured otherwise: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = DEFAULTS.maxFrameBytes;

/**
 * The largest message reassembled from `more` frames: just under the longest string V8 can
 * hold (2^29 - 24 characters), which the payload must become to be parsed.
 */
export const MAX_MESSAGE_BYTES = 500 * 1024 * 1024;

/** The payload bytes per frame of a message split into `more` frames (if the frame limit allows). */
export const PART_BYTES = 1024 * 1024;

const MORE = 'more';
const TYPE = /^[a-z:-]{1,32}$/;
const HEADER = 6; // length, version, type length

/** A frame the decoder refused, with the code of the rule it broke; its connection must be dropped. */
export class FrameError extends ProtocolError {
  constructor(message: string, code: LinkErrorCode) {
    super(message, code);
    this.name = 'FrameError';
  }
}

// What the first bytes of a connection that is not a collective hub usually are: a browser,
// curl or a health check (HTTP), a TLS client on a plain port or a TLS server's alert (the
// `tls` option set on one side only), an SSH client.
const HTTP = /^(?:GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PRI) |^HTTP\/\d/;

/**
 * What the first bytes of a connection look like when they are not a collective frame: HTTP,
 * TLS or SSH by name, else undefined.
 */
export function sniffForeign(first: Buffer): string | undefined {
  const text = first.toString('latin1', 0, Math.min(first.length, 32));
  if (HTTP.test(text)) return `not a collective peer: the first bytes look like HTTP (${JSON.stringify(text.split(/\r?\n/)[0])})`;
  if ((first[0] === 0x16 || first[0] === 0x15) && first[1] === 0x03) {
    return 'not a collective peer: the first bytes look like TLS (is `tls` set on one side only?)';
  }
  if (text.startsWith('SSH-')) return 'not a collective peer: the first bytes look like SSH';
  return undefined;
}

// The first bytes of a connection, quoted for an error: as text when they are printable.
function quoteFirst(first: Buffer): string {
  const head = first.subarray(0, 24);
  const printable = head.every((byte) => (byte >= 0x20 && byte < 0x7f) || byte === 0x0a || byte === 0x0d || byte === 0x09);
  return printable ? `text ${JSON.stringify(head.toString('latin1'))}` : `0x${head.toString('hex')}`;
}

/** A decoded frame: its type and its parsed (still untrusted) payload. */
export interface Frame {
  readonly type: string;
  readonly payload: unknown;
}

/**
 * Encodes a message as one frame, or, when its payload is over `maxFrameBytes` allows, as
 * `more` frames closed by one of its own type. Throws a RangeError past MAX_MESSAGE_BYTES.
 */
export function encodeFrames(type: string, payload: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer[] {
  if (!TYPE.test(type) || type === MORE) throw new TypeError(`invalid frame type ${JSON.stringify(type)}`);
  const json = JSON.stringify(payload) ?? 'null';
  const overhead = 2 + type.length;
  // Most frames are small: encode them straight into their buffer.
  if (json.length * 3 + overhead <= maxFrameBytes) return [frameOf(type, json, Buffer.byteLength(json))];
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length + overhead <= maxFrameBytes) return [frameOf(type, bytes, bytes.length)];
  if (bytes.length > MAX_MESSAGE_BYTES) throw new RangeError(`a ${type} message of ${bytes.length} bytes is over the limit of ${MAX_MESSAGE_BYTES}`);
  // Every part but the last as `more` frames; the last (1 to a part's size) in a frame of the type.
  const size = partSize(maxFrameBytes);
  const last = Math.floor((bytes.length - 1) / size) * size;
  const frames = moreFramesOf(bytes.subarray(0, last), maxFrameBytes);
  frames.push(frameOf(type, bytes.subarray(last), bytes.length - last));
  return frames;
}

// The payload bytes per frame of a message split into `more` frames: room is left for the
// longest type, since the last part goes in a frame of the message's own type.
function partSize(maxFrameBytes: number): number {
  return Math.min(PART_BYTES, maxFrameBytes - 2 - 32);
}

function moreFramesOf(bytes: Buffer, maxFrameBytes: number): Buffer[] {
  const size = partSize(maxFrameBytes);
  const frames: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) frames.push(frameOf(MORE, bytes.subarray(start, start + size), Math.min(size, bytes.length - start)));
  return frames;
}

/**
 * A message whose payload's JSON text comes in parts (a snapshot encoded a slice at a time):
 * each part as `more` frames, then, at the end, a frame of the message's type with no payload
 * of its own, which closes it (a decoder joins the parts as for encodeFrames). The receiver
 * bounds the whole at MAX_MESSAGE_BYTES.
 */
export function moreFrames(part: string, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer[] {
  return moreFramesOf(Buffer.from(part, 'utf8'), maxFrameBytes);
}

/** The frame that closes a message sent as `more` frames (see moreFrames). */
export function endFrame(type: string): Buffer {
  if (!TYPE.test(type) || type === MORE) throw new TypeError(`invalid frame type ${JSON.stringify(type)}`);
  return frameOf(type, '', 0);
}

/** Encodes one frame. Throws a RangeError if it would exceed `maxFrameBytes`. */
export function encodeFrame(type: string, payload: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (!TYPE.test(type)) throw new TypeError(`invalid frame type ${JSON.stringify(type)}`);
  const json = JSON.stringify(payload) ?? 'null';
  const payloadBytes = Buffer.byteLength(json);
  const length = 2 + type.length + payloadBytes;
  if (length > maxFrameBytes) throw new RangeError(`a ${type} frame of ${length} bytes is over the limit of ${maxFrameBytes}`);
  return frameOf(type, json, payloadBytes);
}

function frameOf(type: string, payload: string | Buffer, payloadBytes: number): Buffer {
  const length = 2 + type.length + payloadBytes;
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.writeUInt8(PEER_PROTOCOL_VERSION, 4);
  frame.writeUInt8(type.length, 5);
  frame.write(type, HEADER, 'latin1');
  if (typeof payload === 'string') frame.write(payload, HEADER + type.length, 'utf8');
  else payload.copy(frame, HEADER + type.length);
  return frame;
}

/** Turns a byte stream into frames. After it has thrown once, it must not be used again. */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #maxMessageBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  // The payload bytes of `more` frames, waiting for the frame that closes their message.
  #parts: Buffer[] = [];
  #partBytes = 0;
  // Whether a whole frame has arrived yet: a bad first frame may be another protocol altogether.
  #framed = false;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES, maxMessageBytes = MAX_MESSAGE_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes received and not yet part of a whole message. */
  get buffered(): number {
    return this.#buffered + this.#partBytes;
  }

  /** Feeds bytes; returns the frames they complete. Throws a FrameError on a bad frame. */
  push(chunk: Buffer): Frame[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Frame[] = [];
    while (this.#buffered >= 4) {
      const length = this.#peekLength();
      if (length > this.#maxFrameBytes || length < 3) {
        // A connection's first frame is a small hello: a bad length there is not a peer at all.
        this.#refuseForeign(true);
        if (length < 3) throw new FrameError(`frame length ${length} is too short`, 'ERR_COLLECTIVE_PROTOCOL');
        throw new FrameError(`frame length ${length} is over the limit of ${this.#maxFrameBytes}`, 'ERR_COLLECTIVE_FRAME_TOO_LARGE');
      }
      if (this.#buffered < 4 + length) break;
      const frame = this.#decode(this.#take(4 + length));
      this.#framed = true;
      if (frame !== undefined) frames.push(frame);
    }
    return frames;
  }

  // Before the first frame: bytes of another protocol throw a FrameError saying which (or, when
  // `surely`, quoting them).
  #refuseForeign(surely: boolean): void {
    if (this.#framed) return;
    const first = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const why = sniffForeign(first) ?? (surely ? `not a collective peer: the first bytes are ${quoteFirst(first)}` : undefined);
    if (why !== undefined) throw new FrameError(why, 'ERR_COLLECTIVE_NOT_A_PEER');
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.#chunks, 4).readUInt32BE(0);
  }

  #take(bytes: number): Buffer {
    const first = this.#chunks[0]!;
    let taken: Buffer;
    if (first.length >= bytes) {
      taken = first.subarray(0, bytes);
      if (first.length === bytes) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(bytes);
    } else {
      const all = Buffer.concat(this.#chunks, this.#buffered);
      taken = all.subarray(0, bytes);
      this.#chunks = all.length > bytes ? [all.subarray(bytes)] : [];
    }
    this.#buffered -= bytes;
    return taken;
  }

  #decode(frame: Buffer): Frame | undefined {
    const version = frame.readUInt8(4);
    if (version !== PEER_PROTOCOL_VERSION) {
      this.#refuseForeign(false);
      throw new FrameError(
        `the peer speaks protocol version ${version}, this hub version ${PEER_PROTOCOL_VERSION}: run the same version of collective on every hub`,
        'ERR_COLLECTIVE_PROTOCOL_VERSION',
      );
    }
    const typeLength = frame.readUInt8(5);
    if (typeLength < 1 || typeLength > 32 || HEADER + typeLength > frame.length) throw new FrameError(`bad type length ${typeLength}`, 'ERR_COLLECTIVE_FRAME_TYPE');
    const type = frame.toString('latin1', HEADER, HEADER + typeLength);
    if (!TYPE.test(type)) throw new FrameError('malformed frame type', 'ERR_COLLECTIVE_FRAME_TYPE');
    const start = HEADER + typeLength;
    if (type === MORE || this.#parts.length > 0) {
      this.#partBytes += frame.length - start;
      if (this.#partBytes > this.#maxMessageBytes) {
        throw new FrameError(`a message split into frames is over the limit of ${this.#maxMessageBytes} bytes`, 'ERR_COLLECTIVE_FRAME_TOO_LARGE');
      }
      // Copied: the chunk it came in may be much larger, and must not stay alive for one part.
      this.#parts.push(Buffer.from(frame.subarray(start)));
      if (type === MORE) return undefined;
    }
    let text: string;
    if (this.#parts.length === 0) text = frame.toString('utf8', start);
    else {
      text = Buffer.concat(this.#parts, this.#partBytes).toString('utf8');
      this.#parts = [];
      this.#partBytes = 0;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new FrameError(`malformed JSON in a ${type} frame`, 'ERR_COLLECTIVE_FRAME_JSON');
    }
    return { type, payload };
  }
}

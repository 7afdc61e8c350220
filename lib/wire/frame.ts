/**
 * Frames between hubs, on TCP:
 *
 *   u32 (big-endian)  length of everything after these 4 bytes
 *   u8                protocol version
 *   u8                length T of the type (1..32)
 *   T bytes           the message type, ASCII `[a-z:-]` (a string literal, never a number)
 *   the rest          the payload, UTF-8 JSON
 *
 * The decoder is a unit of its own, fed bytes as they come and tested byte by byte: frames
 * split across chunks, several in one chunk, lengths past the limit, garbage. It checks the
 * length before buffering anything, so a peer announcing 4 GiB costs nothing.
 */

/** The hub-to-hub protocol version; a frame of another version is refused. */
export const PEER_PROTOCOL_VERSION = 1;

/** The largest frame accepted unless configured otherwise: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

const TYPE = /^[a-z:-]{1,32}$/;
const HEADER = 6; // length, version, type length

/** A frame the decoder refused; the connection it came on must be dropped. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** A decoded frame: its type and its parsed (still untrusted) payload. */
export interface Frame {
  readonly type: string;
  readonly payload: unknown;
}

/** Encodes one frame. Throws a RangeError if it would exceed `maxFrameBytes`. */
export function encodeFrame(type: string, payload: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (!TYPE.test(type)) throw new TypeError(`invalid frame type ${JSON.stringify(type)}`);
  const json = JSON.stringify(payload) ?? 'null';
  const payloadBytes = Buffer.byteLength(json);
  const length = 2 + type.length + payloadBytes;
  if (length > maxFrameBytes) throw new RangeError(`a ${type} frame of ${length} bytes is over the limit of ${maxFrameBytes}`);
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame.writeUInt8(PEER_PROTOCOL_VERSION, 4);
  frame.writeUInt8(type.length, 5);
  frame.write(type, HEADER, 'latin1');
  frame.write(json, HEADER + type.length, 'utf8');
  return frame;
}

/** Turns a byte stream into frames. After it has thrown once, it must not be used again. */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received and not yet part of a whole frame. */
  get buffered(): number {
    return this.#buffered;
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
      if (length > this.#maxFrameBytes) throw new FrameError(`frame length ${length} is over the limit of ${this.#maxFrameBytes}`);
      if (length < 3) throw new FrameError(`frame length ${length} is too short`);
      if (this.#buffered < 4 + length) break;
      frames.push(this.#decode(this.#take(4 + length)));
    }
    return frames;
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

  #decode(frame: Buffer): Frame {
    const version = frame.readUInt8(4);
    if (version !== PEER_PROTOCOL_VERSION) throw new FrameError(`unsupported protocol version ${version}`);
    const typeLength = frame.readUInt8(5);
    if (typeLength < 1 || typeLength > 32 || HEADER + typeLength > frame.length) throw new FrameError(`bad type length ${typeLength}`);
    const type = frame.toString('latin1', HEADER, HEADER + typeLength);
    if (!TYPE.test(type)) throw new FrameError('malformed frame type');
    let payload: unknown;
    try {
      payload = JSON.parse(frame.toString('utf8', HEADER + typeLength));
    } catch {
      throw new FrameError(`malformed JSON in a ${type} frame`);
    }
    return { type, payload };
  }
}

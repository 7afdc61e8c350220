/**
 * Reads the forms batch-encoder.ts writes (see batch-format.ts), from bytes that may come from
 * anywhere: every read is bounded by the end of its record, and anything malformed (past the
 * end, an overlong count, a count larger than what is left to read) throws a `TypeError` before
 * anything is allocated for it.
 */
export class ByteReader {
  readonly #bytes: Buffer;
  #at: number;
  readonly #end: number;

  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#at = 0;
    this.#end = bytes.length;
  }

  /** Bytes left to read. */
  get left(): number {
    return this.#end - this.#at;
  }

  byte(): number {
    if (this.#at >= this.#end) throw malformed('a record cut short');
    return this.#bytes[this.#at++]!;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw malformed('a count past 2^53');
        return value;
      }
      scale *= 0x80;
    }
    throw malformed('a count longer than 8 bytes');
  }

  /** A `uint` that counts things each taking at least a byte of what is left: bounded by it. */
  count(): number {
    const value = this.uint();
    if (value > this.left) throw malformed(`a count of ${value} with ${this.left} bytes left`);
    return value;
  }

  /** 4 bytes, little-endian, unsigned. */
  uint32(): number {
    const at = this.#take(4);
    return this.#bytes.readUInt32LE(at);
  }

  float64(): number {
    const at = this.#take(8);
    return this.#bytes.readDoubleLE(at);
  }

  string(): string {
    const prefix = this.uint();
    const wide = prefix % 2 === 1;
    const units = Math.floor(prefix / 2);
    const bytes = wide ? units * 2 : units;
    const at = this.#take(bytes);
    return this.#bytes.toString(wide ? 'utf16le' : 'utf8', at, at + bytes);
  }

  // Where `count` bytes start, once they are known to be there.
  #take(count: number): number {
    if (count > this.#end - this.#at) throw malformed('a record cut short');
    const at = this.#at;
    this.#at += count;
    return at;
  }
}

function malformed(what: string): TypeError {
  return new TypeError(`malformed batch record: ${what}`);
}

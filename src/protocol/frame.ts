/**
 * Length-prefixed framing: uint32 big-endian payload length, then the payload.
 * See docs/protocol.md section 1.
 */

/** Default largest payload accepted in one frame: 64 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024

/** The header length in bytes. */
export const HEADER_BYTES = 4

/**
 * Thrown by {@link FrameReader} when a header announces a payload over the limit.
 * Nothing beyond the header has been buffered when it is thrown.
 */
export class FrameTooLargeError extends Error {
  readonly length: number
  readonly limit: number
  constructor(length: number, limit: number) {
    super(`frame of ${length} bytes exceeds maxFrameBytes (${limit})`)
    this.name = "FrameTooLargeError"
    this.length = length
    this.limit = limit
  }
}

/**
 * Wraps one encoded payload into a frame.
 *
 * @example
 * ```ts
 * encodeFrame(new Uint8Array([1, 2])) // <Buffer 00 00 00 02 01 02>
 * ```
 */
export const encodeFrame = (payload: Uint8Array): Buffer => {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  frame.writeUInt32BE(payload.length, 0)
  frame.set(payload, HEADER_BYTES)
  return frame
}

/**
 * A frame ready to write: one buffer, or parts written in order (one `writev`), so a large binary
 * argument is sent from the caller's own memory.
 */
export type Frame = Uint8Array | ReadonlyArray<Uint8Array>

/**
 * The bytes of a frame, header included.
 *
 * @example
 * ```ts
 * frameLength([new Uint8Array(4), new Uint8Array(10)]) // 14
 * ```
 */
export const frameLength = (frame: Frame): number => {
  if (!Array.isArray(frame)) return (frame as Uint8Array).length
  let n = 0
  for (const part of frame as ReadonlyArray<Uint8Array>) n += part.byteLength
  return n
}

/**
 * Incremental frame decoder for a byte stream. Chunks of a large frame are kept
 * in a list and joined once, so a 64 MiB frame in 64 KiB chunks costs one copy.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(1024)
 * reader.push(chunk, (payload) => handle(payload))
 * ```
 */
export class FrameReader {
  readonly #limit: number
  #chunks: Array<Buffer> = []
  #buffered = 0
  // Length of the frame being assembled, or -1 while its header is incomplete.
  #need = -1

  constructor(limit: number = DEFAULT_MAX_FRAME_BYTES) {
    this.#limit = limit
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#buffered
  }

  /** Feeds bytes; calls `onFrame` for every complete payload, in order. */
  push(chunk: Buffer, onFrame: (payload: Buffer) => void): void {
    if (this.#buffered === 0 && this.#need === -1) {
      // Fast path: frames aligned with the chunk, the common case for small messages.
      this.#drain(chunk, onFrame)
      return
    }
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    if (this.#need === -1 ? this.#buffered < HEADER_BYTES : this.#buffered < HEADER_BYTES + this.#need) return
    const joined = Buffer.concat(this.#chunks, this.#buffered)
    this.#chunks = []
    this.#buffered = 0
    this.#need = -1
    this.#drain(joined, onFrame)
  }

  #drain(buf: Buffer, onFrame: (payload: Buffer) => void): void {
    let offset = 0
    while (buf.length - offset >= HEADER_BYTES) {
      const length = buf.readUInt32BE(offset)
      if (length > this.#limit) throw new FrameTooLargeError(length, this.#limit)
      const end = offset + HEADER_BYTES + length
      if (end > buf.length) {
        this.#need = length
        break
      }
      onFrame(buf.subarray(offset + HEADER_BYTES, end))
      offset = end
    }
    if (offset < buf.length) {
      const rest = buf.subarray(offset)
      this.#chunks.push(rest)
      this.#buffered = rest.length
    }
  }
}

/** Helpers for a worker's stdout/stderr: line splitting for logs, and a bounded tail for errors. */

/** Default bytes of stderr kept for crash reports. */
export const STDERR_TAIL_BYTES = 4096

/**
 * Keeps the last `limit` bytes written to it.
 *
 * @example
 * ```ts
 * const tail = new Tail(4); tail.push(Buffer.from("abcdef")); tail.toString() // "cdef"
 * ```
 */
export class Tail {
  readonly #limit: number
  #buf: Buffer = Buffer.alloc(0)
  constructor(limit: number = STDERR_TAIL_BYTES) {
    this.#limit = limit
  }
  push(chunk: Buffer): void {
    const joined = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    this.#buf = joined.length > this.#limit ? Buffer.from(joined.subarray(joined.length - this.#limit)) : joined
  }
  toString(): string {
    return this.#buf.toString("utf8")
  }
}

/**
 * Splits a byte stream into lines; a line longer than `maxLine` is emitted in pieces so
 * a worker printing without newlines cannot grow host memory.
 *
 * @example
 * ```ts
 * const s = new LineSplitter((l) => console.log(l)); s.push(Buffer.from("a\nb")); s.end() // "a", "b"
 * ```
 */
export class LineSplitter {
  readonly #onLine: (line: string) => void
  readonly #maxLine: number
  #partial = ""
  constructor(onLine: (line: string) => void, maxLine = 64 * 1024) {
    this.#onLine = onLine
    this.#maxLine = maxLine
  }
  push(chunk: Buffer): void {
    const text = this.#partial + chunk.toString("utf8")
    const lines = text.split("\n")
    this.#partial = lines.pop() ?? ""
    for (const line of lines) this.#onLine(line.endsWith("\r") ? line.slice(0, -1) : line)
    while (this.#partial.length > this.#maxLine) {
      this.#onLine(this.#partial.slice(0, this.#maxLine))
      this.#partial = this.#partial.slice(this.#maxLine)
    }
  }
  end(): void {
    if (this.#partial) this.#onLine(this.#partial)
    this.#partial = ""
  }
}

/**
 * How frames leave for the worker: batched per turn of the event loop, and written straight to the
 * pipe's file descriptor when the stream has nothing queued. Knows nothing of the protocol: the
 * `Channel` decides what to send, this decides how the bytes go.
 * @module
 */
import { writeSync } from "node:fs"
import type { Writable } from "node:stream"
import { frameLength } from "../protocol/index.ts"
import type { Frame } from "../protocol/index.ts"

/** Up to this many bytes in one turn are joined into one buffer (a copy is cheaper than a syscall). */
const JOIN_MAX_BYTES = 256 * 1024

/**
 * The frames written in this turn of the event loop, sent together at its end.
 *
 * @example
 * ```ts
 * const outbox = new Outbox(proc.toWorker)
 * outbox.write(codec.frame({ kind: "ping", id: 1 })) // leaves with every other frame of this turn
 * ```
 */
export class Outbox {
  readonly #out: Writable
  #frames: Array<Uint8Array> = []
  #bytes = 0

  constructor(out: Writable) {
    this.#out = out
  }

  /**
   * One frame out, at the end of this turn of the event loop together with every other frame
   * written in it: callers resuming one after another (say, 32 of them woken by a batch of answers)
   * cost the worker one pipe write, not one each. A turn is short: the frames leave before any
   * timer or I/O callback runs.
   */
  write(frame: Frame): void {
    if (this.#frames.length === 0) process.nextTick(this.#flush)
    if (Array.isArray(frame)) {
      for (const part of frame as ReadonlyArray<Uint8Array>) this.#frames.push(part)
      this.#bytes += frameLength(frame)
    } else {
      this.#frames.push(frame as Uint8Array)
      this.#bytes += (frame as Uint8Array).length
    }
  }

  readonly #flush = (): void => {
    const frames = this.#frames
    if (frames.length === 0) return
    const bytes = this.#bytes
    this.#frames = []
    this.#bytes = 0
    if (frames.length === 1) return this.#send(frames[0]!)
    // Small frames are joined; big ones (a large binary sent from the caller's memory among them)
    // go as they are, in one writev.
    if (bytes <= JOIN_MAX_BYTES) return this.#send(Buffer.concat(frames, bytes))
    const out = this.#out
    out.cork()
    for (const frame of frames) out.write(frame)
    out.uncork()
  }

  /**
   * Writes bytes to the worker. When the stream has nothing queued and sits on a file descriptor
   * (the worker's fd 3 pipe, non-blocking), they go to it directly: one syscall, none of the
   * stream's per-write bookkeeping. Whatever the pipe does not take at once (full, or an error)
   * goes through the stream, which keeps the order and reports the error as before.
   */
  #send(frame: Uint8Array): void {
    const out = this.#out
    if (out.writableLength === 0 && !out.destroyed) {
      const fd = (out as { _handle?: { fd?: unknown } | null })._handle?.fd
      if (typeof fd === "number" && fd >= 0) {
        let written = 0
        try {
          written = writeSync(fd, frame)
        } catch {
          // EAGAIN (pipe full), EPIPE (worker gone)…: the stream retries or reports it.
        }
        if (written === frame.length) return
        frame = frame.subarray(written)
      }
    }
    out.write(frame)
  }
}

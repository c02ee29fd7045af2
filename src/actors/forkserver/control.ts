/**
 * The zygote's control channel: JSON in length-prefixed frames on its fds 3 (host → zygote) and
 * 4 (zygote → host). See python/pyvisor_worker/zygote.py for the messages.
 */
import type { Readable, Writable } from "node:stream"
import { encodeFrame, FrameReader } from "../../protocol/frame.ts"

/**
 * What the zygote tells the host.
 *
 * @example
 * ```ts
 * const m: ZygoteMessage = { kind: "exit", pid: 4242, code: null, signal: "SIGKILL" }
 * ```
 */
export type ZygoteMessage =
  | { readonly kind: "ready"; readonly pid: number; readonly threads: number; readonly importError: string | null }
  | { readonly kind: "forked"; readonly key: string; readonly pid: number }
  | { readonly kind: "forkFailed"; readonly key: string; readonly message: string }
  | { readonly kind: "exit"; readonly pid: number; readonly code: number | null; readonly signal: string | null }

/**
 * What the host asks the zygote.
 *
 * @example
 * ```ts
 * const r: ForkRequest = { kind: "fork", key: "f1", socket: rendezvous.path, token: rendezvous.token }
 * ```
 */
export interface ForkRequest {
  readonly kind: "fork"
  /** Names this fork on the rendezvous socket. */
  readonly key: string
  readonly socket: string
  readonly token: string
}

const CONTROL_MAX_FRAME_BYTES = 1 << 20

/**
 * Reads and writes control frames. A frame that is not JSON, or not an object with a `kind`, is a
 * broken zygote: `onViolation` is told once and nothing more is read.
 *
 * @example
 * ```ts
 * const control = new Control(proc.toWorker, proc.fromWorker, (m) => m.kind === "exit" && reap(m), (e) => proc.kill("SIGKILL"))
 * control.send({ kind: "fork", key: "w1.1", socket, token })
 * ```
 */
export class Control {
  readonly #out: Writable
  readonly #reader = new FrameReader(CONTROL_MAX_FRAME_BYTES)
  #broken = false

  constructor(output: Writable, input: Readable, onMessage: (message: ZygoteMessage) => void, onViolation: (error: Error) => void) {
    this.#out = output
    input.on("data", (chunk: Buffer) => {
      if (this.#broken) return
      try {
        this.#reader.push(chunk, (payload) => {
          const message: unknown = JSON.parse(payload.toString("utf8"))
          if (typeof message !== "object" || message === null || typeof (message as { kind?: unknown }).kind !== "string") {
            throw new Error(`not a control message: ${payload.toString("utf8").slice(0, 200)}`)
          }
          onMessage(message as ZygoteMessage)
        })
      } catch (error) {
        this.#broken = true
        onViolation(error instanceof Error ? error : new Error(String(error)))
      }
    })
  }

  /** Sends one request (dropped once the channel is closed: the zygote's exit reports the rest). */
  send(request: ForkRequest): void {
    if (this.#out.writable) this.#out.write(encodeFrame(Buffer.from(JSON.stringify(request), "utf8")))
  }

  /** Closes fd 3: the zygote's loop sees EOF and exits 0. */
  close(): void {
    this.#out.end()
  }
}

// The physical floor both call benches compare against: one frame written to a Python child's
// fd 3 and echoed back on fd 4 (fixtures/raw_echo.py), framed like pyvisor's own frames.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { encodeFrame, FrameReader } from "../src/protocol/index.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))

/** A running echo child: `once()` is one round trip of `payload`'s frame. */
export interface RawEcho {
  readonly once: () => Promise<void>
  readonly close: () => void
}

/** Spawns `python` on the echo fixture; every round trip carries the same frame. */
export const openRawEcho = (python: string, payload: Uint8Array): RawEcho => {
  const child = spawn(python, [FIXTURES + "raw_echo.py"], { stdio: ["ignore", "inherit", "inherit", "pipe", "pipe"] })
  const out = child.stdio[3] as NodeJS.WritableStream
  const input = child.stdio[4] as NodeJS.ReadableStream
  const reader = new FrameReader()
  let wake: () => void = () => {}
  input.on("data", (chunk: Buffer) => reader.push(chunk, () => wake()))
  const frame = encodeFrame(payload)
  const once = (): Promise<void> => new Promise((resolve) => {
    wake = resolve
    out.write(frame)
  })
  return { once, close: () => child.kill("SIGKILL") }
}

/** A running echo child taking any number of frames in flight: `send()` resolves at its frame's echo. */
export interface PipelinedEcho {
  readonly send: () => Promise<void>
  /** Frames written and not yet echoed. */
  readonly inFlight: () => number
  readonly close: () => void
}

/** Spawns `python` on the echo fixture; echoes come back in order, so a FIFO of waiters matches them. */
export const openPipelinedEcho = (python: string, payload: Uint8Array): PipelinedEcho => {
  const child = spawn(python, [FIXTURES + "raw_echo.py"], { stdio: ["ignore", "inherit", "inherit", "pipe", "pipe"] })
  const out = child.stdio[3] as NodeJS.WritableStream
  const input = child.stdio[4] as NodeJS.ReadableStream
  const reader = new FrameReader()
  const waiting: Array<() => void> = []
  let head = 0
  input.on("data", (chunk: Buffer) => reader.push(chunk, () => {
    waiting[head++]!()
    if (head === waiting.length) {
      waiting.length = 0
      head = 0
    }
  }))
  const frame = encodeFrame(payload)
  const send = (): Promise<void> => new Promise((resolve) => {
    waiting.push(resolve)
    out.write(frame)
  })
  return { send, inFlight: () => waiting.length - head, close: () => child.kill("SIGKILL") }
}

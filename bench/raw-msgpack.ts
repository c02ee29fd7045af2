// The raw msgpack floor of the stream and buffer benches: fixtures/raw_msgpack.py on fd 3/4, no
// pyvisor runtime on either side. Node encodes each request and decodes each answer frame with
// msgpackr; Python decodes and encodes with msgpack. One request in flight.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Packr, Unpackr } from "msgpackr"
import { FrameReader } from "../src/protocol/index.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))

interface Answer {
  readonly kind: string
  readonly value?: unknown
}

/** A running raw msgpack child. */
export interface RawMsgpack {
  /** One request/answer round trip; the answer's value. */
  readonly call: (name: string, args: Record<string, unknown>) => Promise<unknown>
  /** One streamed request: `onItem` for every chunk's value; resolves at the end frame with the chunk count. */
  readonly stream: (name: string, args: Record<string, unknown>, onItem: (value: unknown) => void) => Promise<number>
  readonly close: () => void
}

/** Spawns `python` on fixtures/raw_msgpack.py. */
export const openRawMsgpack = (python: string): RawMsgpack => {
  const child = spawn(python, [FIXTURES + "raw_msgpack.py"], { stdio: ["ignore", "inherit", "inherit", "pipe", "pipe"] })
  const out = child.stdio[3] as NodeJS.WritableStream
  const input = child.stdio[4] as NodeJS.ReadableStream
  const packr = new Packr({ useRecords: false })
  const unpackr = new Unpackr({ useRecords: false })
  const reader = new FrameReader()
  let onAnswer: (answer: Answer) => void = () => {}
  input.on("data", (chunk: Buffer) => reader.push(chunk, (payload) => onAnswer(unpackr.unpack(payload) as Answer)))
  let id = 0
  const send = (name: string, args: Record<string, unknown>): void => {
    const payload = packr.pack({ kind: "call", id: ++id, name, args })
    const header = Buffer.allocUnsafe(4)
    header.writeUInt32BE(payload.length, 0)
    out.write(header)
    out.write(payload)
  }
  const fail = (answer: Answer): Error => new Error(`raw_msgpack.py answered ${JSON.stringify(answer)}`)
  return {
    call: (name, args) => new Promise((resolve, reject) => {
      onAnswer = (answer) => answer.kind === "result" ? resolve(answer.value) : reject(fail(answer))
      send(name, args)
    }),
    stream: (name, args, onItem) => new Promise((resolve, reject) => {
      let items = 0
      onAnswer = (answer) => {
        if (answer.kind === "chunk") {
          items++
          onItem(answer.value)
        } else if (answer.kind === "end") resolve(items)
        else reject(fail(answer))
      }
      send(name, args)
    }),
    close: () => child.kill("SIGKILL")
  }
}

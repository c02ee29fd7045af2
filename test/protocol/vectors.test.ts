import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameReader, jsonCodec, msgpackCodec, UnserializableError } from "../../src/protocol/index.ts"
import type { Codec } from "../../src/protocol/index.ts"

interface Vector { name: string; message: unknown; json: string | null; msgpack: string; msgpackPython?: string }
const vectors: Array<Vector> = JSON.parse(readFileSync(new URL("../vectors/messages.json", import.meta.url), "utf8"))

// The file spells bytes as {"$bytes": hex}.
const revive = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(revive)
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>
    if (Object.keys(o).length === 1 && typeof o["$bytes"] === "string") return Buffer.from(o["$bytes"], "hex")
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]))
  }
  return v
}
const normalise = (v: unknown): unknown =>
  v instanceof Uint8Array ? Buffer.from(v) : Array.isArray(v) ? v.map(normalise)
    : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)])) : v

const decodeFrame = (codec: Codec, hex: string): unknown => {
  const payloads: Array<Buffer> = []
  new FrameReader().push(Buffer.from(hex, "hex"), (p) => payloads.push(p))
  expect(payloads).toHaveLength(1)
  return normalise(codec.decode(payloads[0]!))
}

describe("shared test vectors", () => {
  it("cover every message kind of protocol v1", () => {
    const kinds = new Set(vectors.map((v) => (v.message as { kind: string }).kind))
    expect([...kinds].sort()).toEqual(["call", "cancel", "chunk", "credit", "end", "error", "hello", "host_call", "host_error",
      "host_result", "log", "ping", "pong", "ready", "result", "shutdown", "welcome"])
  })

  describe.each(vectors)("$name", (v) => {
    const message = revive(v.message)
    it("msgpack decodes and re-encodes byte for byte", () => {
      expect(decodeFrame(msgpackCodec, v.msgpack)).toEqual(message)
      if (v.msgpackPython) expect(decodeFrame(msgpackCodec, v.msgpackPython)).toEqual(message)
      expect(encodeFrame(msgpackCodec.encode(message)).toString("hex")).toBe(v.msgpack)
    })
    it(v.json === null ? "json refuses it (bytes)" : "json decodes and re-encodes byte for byte", () => {
      if (v.json === null) {
        expect(() => jsonCodec.encode(message)).toThrow(UnserializableError)
        return
      }
      expect(decodeFrame(jsonCodec, v.json)).toEqual(message)
      expect(encodeFrame(jsonCodec.encode(message)).toString("hex")).toBe(v.json)
    })
  })
})

import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameReader, jsonCodec, msgpackCodec } from "../../src/protocol/index.ts"
import type { Codec } from "../../src/protocol/index.ts"
import { fromFile } from "../vectors/file-form.ts"

interface Vector { name: string; message: unknown; json: string; msgpack: string; msgpackPython?: string }
const vectors: Array<Vector> = JSON.parse(readFileSync(new URL("../vectors/messages.json", import.meta.url), "utf8"))

// Bytes as Buffer whatever Uint8Array subclass a decoder returns.
const normalise = (v: unknown): unknown =>
  Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v) : Array.isArray(v) ? v.map(normalise)
    : v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)])) : v

const decodeFrame = (codec: Codec, hex: string): unknown => {
  const payloads: Array<Buffer> = []
  new FrameReader().push(Buffer.from(hex, "hex"), (p) => payloads.push(p))
  expect(payloads).toHaveLength(1)
  return normalise(codec.decode(payloads[0]!))
}

// toEqual treats an own `__proto__` key as the prototype: compare own entries, recursively.
const entries = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(entries)
    : v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype ? Object.entries(v).map(([k, x]) => [k, entries(x)]) : v

describe("shared test vectors", () => {
  it("cover every message kind of protocol v1", () => {
    const kinds = new Set(vectors.map((v) => (v.message as { kind: string }).kind))
    expect([...kinds].sort()).toEqual(["call", "cancel", "chunk", "chunks", "credit", "end", "error", "hello", "host_call", "host_error",
      "host_result", "log", "ping", "pong", "ready", "result", "shutdown", "welcome"])
  })

  describe.each(vectors)("$name", (v) => {
    const message = fromFile(v.message)
    it("msgpack decodes and re-encodes byte for byte", () => {
      expect(entries(decodeFrame(msgpackCodec, v.msgpack))).toEqual(entries(message))
      if (v.msgpackPython) expect(entries(decodeFrame(msgpackCodec, v.msgpackPython))).toEqual(entries(message))
      expect(encodeFrame(msgpackCodec.encode(message)).toString("hex")).toBe(v.msgpack)
    })
    it("json decodes and re-encodes byte for byte", () => {
      expect(entries(decodeFrame(jsonCodec, v.json))).toEqual(entries(message))
      expect(encodeFrame(jsonCodec.encode(message)).toString("hex")).toBe(v.json)
    })
    it("both codecs decode the same value", () => {
      expect(entries(decodeFrame(jsonCodec, v.json))).toEqual(entries(decodeFrame(msgpackCodec, v.msgpack)))
    })
  })
})

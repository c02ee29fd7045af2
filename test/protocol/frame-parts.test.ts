// Large binaries leave the msgpack writer as frame parts of their own, uncopied: the joined parts
// must be exactly the bytes of the inline encoding, wherever the binary sits.
import fc from "fast-check"
import { Packr } from "msgpackr"
import { describe, expect, it } from "vitest"
import { frameLength, msgpackCodec, NdArray } from "../../src/protocol/index.ts"
import type { Frame } from "../../src/protocol/index.ts"
import { SPILL_BYTES } from "../../src/protocol/msgpack.ts"

const oracle = new Packr({ useRecords: false, variableMapSize: true })
const joined = (frame: Frame): Buffer => (Array.isArray(frame) ? Buffer.concat(frame as ReadonlyArray<Uint8Array>) : Buffer.from(frame as Uint8Array))
const payload = (frame: Frame): Buffer => joined(frame).subarray(4)
const big = (n: number, fill: number): Buffer => Buffer.alloc(n, fill)

describe("msgpack frame parts", () => {
  it("sends a binary of SPILL_BYTES or more from the caller's memory, between its neighbours' bytes", () => {
    const data = big(SPILL_BYTES, 7)
    const frame = msgpackCodec.frame({ kind: "call", id: 1, args: { data, after: "x" } })
    expect(Array.isArray(frame)).toBe(true)
    const parts = frame as ReadonlyArray<Uint8Array>
    expect(parts).toHaveLength(3)
    expect(parts[1]).toBe(data) // the very buffer: not a copy
    const bytes = joined(frame)
    expect(bytes.readUInt32BE(0)).toBe(bytes.length - 4)
    expect(frameLength(frame)).toBe(bytes.length)
    expect(payload(frame).toString("hex")).toBe(oracle.pack({ kind: "call", id: 1, args: { data, after: "x" } }).toString("hex"))
  })

  it("keeps a smaller binary inline: one buffer", () => {
    const frame = msgpackCodec.frame({ data: big(SPILL_BYTES - 1, 1) })
    expect(Array.isArray(frame)).toBe(false)
  })

  it("keeps a binary inline inside a map of 16 entries or more, whose header may still grow", () => {
    const wide = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i === 3 ? big(SPILL_BYTES, 2) : i]))
    const frame = msgpackCodec.frame(wide)
    expect(Array.isArray(frame)).toBe(false)
    expect(payload(frame).toString("hex")).toBe(oracle.pack(wide).toString("hex"))
  })

  it("writes the header of a map closed after a cut and after the writer's buffer moved", () => {
    // The 300 000-character string after the cut forces a new working buffer.
    const message = { a: { b: big(SPILL_BYTES * 2, 3), s: "y".repeat(300_000), c: [1, 2, { d: big(SPILL_BYTES, 4) }] }, z: 1 }
    const frame = msgpackCodec.frame(message)
    expect((frame as ReadonlyArray<Uint8Array>).length).toBe(5)
    expect(payload(frame).toString("hex")).toBe(oracle.pack(message).toString("hex"))
  })

  it("spills typed arrays and NdArrays after their extension header, and they decode the same", () => {
    const f64 = new Float64Array(SPILL_BYTES / 8).map((_, i) => i / 3)
    const nd = new NdArray(new Int32Array(SPILL_BYTES / 4).map((_, i) => i), [2, SPILL_BYTES / 8])
    const frame = msgpackCodec.frame({ f64, nd })
    expect((frame as ReadonlyArray<Uint8Array>).length).toBe(5)
    const inline = msgpackCodec.encode({ f64, nd })
    expect(payload(frame).equals(inline)).toBe(true)
    const back = msgpackCodec.decode(payload(frame)) as { f64: Float64Array; nd: NdArray }
    expect(back.f64).toEqual(f64)
    expect(back.nd.shape).toEqual([2, SPILL_BYTES / 8])
  })

  it("keeps binaries inline under a __proto__ key's object extension", () => {
    const message = JSON.parse('{"__proto__": 1, "x": 2}') as Record<string, unknown>
    message.data = big(SPILL_BYTES, 5)
    const frame = msgpackCodec.frame(message)
    expect(Array.isArray(frame)).toBe(false)
    expect(Object.keys(msgpackCodec.decode(payload(frame)) as object)).toEqual(["__proto__", "x", "data"])
  })

  it("leaves the writer clean after a refused message that had already cut parts", () => {
    expect(() => msgpackCodec.frame({ data: big(SPILL_BYTES, 6), bad: "\ud800" })).toThrow(/surrogate/)
    const next = msgpackCodec.frame({ ok: 1 })
    expect(Array.isArray(next)).toBe(false)
    expect(payload(next).toString("hex")).toBe(oracle.pack({ ok: 1 }).toString("hex"))
  })

  it("equals the inline encoding for any mix of big and small binaries in nested maps and arrays", () => {
    const leaf = fc.oneof(fc.integer(), fc.string(), fc.constantFrom(SPILL_BYTES - 1, SPILL_BYTES, SPILL_BYTES + 3).map((n) => big(n, n & 0xff)))
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node"), { maxLength: 4 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), tie("node"), { maxKeys: 18 }))
    })).node
    fc.assert(fc.property(tree, (value) => {
      const frame = msgpackCodec.frame({ v: value })
      expect(payload(frame).toString("hex")).toBe(oracle.pack({ v: value }).toString("hex"))
    }), { numRuns: 150 })
  })
})

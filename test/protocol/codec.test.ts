import { describe, expect, it } from "vitest"
import { chooseCodec, jsonCodec, msgpackCodec, UnserializableError } from "../../src/protocol/codec.ts"

describe("codecs", () => {
  it("prefers msgpack and falls back to json", () => {
    expect(chooseCodec(["json", "msgpack"])?.name).toBe("msgpack")
    expect(chooseCodec(["json"])?.name).toBe("json")
    expect(chooseCodec(["cbor"])).toBeUndefined()
  })

  it("msgpack round-trips bytes, unicode and 64-bit integers exactly", () => {
    const value = { b: Buffer.from([0, 255]), s: "日本 🐍", big: 2 ** 40, neg: -(2 ** 40), ts: 1_790_000_000_123, f: 0.5 }
    const back = msgpackCodec.decode(msgpackCodec.encode(value)) as Record<string, unknown>
    expect(Buffer.from(back["b"] as Uint8Array).toString("hex")).toBe("00ff")
    expect(back).toMatchObject({ s: "日本 🐍", big: 2 ** 40, neg: -(2 ** 40), ts: 1_790_000_000_123, f: 0.5 })
  })

  it("msgpack writes large integers as ints, never float64", () => {
    const hex = Buffer.from(msgpackCodec.encode(1_790_000_000_123)).toString("hex")
    expect(hex.startsWith("d3")).toBe(true)
    expect(Buffer.from(msgpackCodec.encode([2 ** 32 - 1, -(2 ** 31)])).toString("hex")).toBe("92ceffffffffd280000000")
  })

  it("msgpack refuses functions and symbols instead of writing nil", () => {
    expect(() => msgpackCodec.encode({ f: () => 1 })).toThrow(UnserializableError)
    expect(() => msgpackCodec.encode([Symbol("x")])).toThrow(/a symbol/)
  })

  it("does not copy values that need no widening", () => {
    const args = { a: [1, 2, 3], b: { c: "x" } }
    expect(msgpackCodec.decode(msgpackCodec.encode(args))).toEqual(args)
  })

  it("json rejects what JSON cannot carry with a typed error", () => {
    expect(() => jsonCodec.encode({ b: Buffer.from([1]) })).toThrow(UnserializableError)
    expect(() => jsonCodec.encode({ n: Number.NaN })).toThrow(/non-finite number NaN/)
    expect(() => jsonCodec.encode({ n: 10n })).toThrow(UnserializableError)
    expect(() => jsonCodec.encode(undefined)).toThrow(UnserializableError)
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    expect(() => jsonCodec.encode(cyclic)).toThrow(UnserializableError)
  })

  it("json decoding rejects invalid UTF-8 and invalid JSON", () => {
    expect(() => jsonCodec.decode(Buffer.from([0xff, 0xfe]))).toThrow()
    expect(() => jsonCodec.decode(Buffer.from("{nope"))).toThrow()
  })
})

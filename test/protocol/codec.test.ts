import { describe, expect, it } from "vitest"
import { chooseCodec, jsonCodec, msgpackCodec, UnserializableError } from "../../src/protocol/codec.ts"

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")

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

  it("msgpack writes large integers as ints, never float64, and floats beyond 64 bits as float64", () => {
    expect(hex(msgpackCodec.encode(1_790_000_000_123)).startsWith("d3")).toBe(true)
    expect(hex(msgpackCodec.encode([2 ** 32 - 1, -(2 ** 31)]))).toBe("92ceffffffffd280000000")
    expect(hex(msgpackCodec.encode([2 ** 63, -(2 ** 63)]))).toBe("92cf8000000000000000d38000000000000000")
    // 1e20 and Number.MAX_VALUE are integral but beyond 64 bits: Python gets a float.
    expect(hex(msgpackCodec.encode(1e20))).toBe("cb4415af1d78b58c40")
    expect(msgpackCodec.decode(msgpackCodec.encode([1e20, Number.MAX_VALUE, -1e19]))).toEqual([1e20, Number.MAX_VALUE, -1e19])
  })

  it("msgpack refuses functions and symbols instead of writing nil", () => {
    expect(() => msgpackCodec.encode({ f: () => 1 })).toThrow(UnserializableError)
    expect(() => msgpackCodec.encode([Symbol("x")])).toThrow(/\[0\] is a symbol/)
  })

  it("round-trips values that need no conversion unchanged", () => {
    const args = { a: [1, 2, 3], b: { c: "x" } }
    expect(msgpackCodec.decode(msgpackCodec.encode(args))).toEqual(args)
    expect(jsonCodec.decode(jsonCodec.encode(args))).toEqual(args)
  })

  it("json carries bytes, NaN and bigints as tagged objects", () => {
    expect(jsonCodec.encode({ b: Buffer.from([0, 1, 254]) }).toString()).toBe('{"b":{"__pyvisor__":["bytes","AAH+"]}}')
    expect(jsonCodec.encode([Number.NaN, 10n, 2n ** 60n]).toString())
      .toBe('[{"__pyvisor__":["float","NaN"]},10,{"__pyvisor__":["int","1152921504606846976"]}]')
    expect(jsonCodec.decode(jsonCodec.encode([Number.NaN, 10n, 2n ** 60n, Buffer.from([1])]))).toEqual([Number.NaN, 10, 2n ** 60n, Buffer.from([1])])
  })

  it("json refuses what no codec carries with a typed error", () => {
    expect(() => jsonCodec.encode({ n: 2n ** 64n })).toThrow(UnserializableError)
    expect(() => jsonCodec.encode(undefined)).toThrow(UnserializableError)
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    expect(() => jsonCodec.encode(cyclic)).toThrow(/nested more than 500 levels deep \(or circular\)/)
    expect(() => msgpackCodec.encode(cyclic)).toThrow(/nested more than 500 levels deep \(or circular\)/)
  })

  it("json decoding rejects invalid UTF-8, invalid JSON and malformed tags", () => {
    expect(() => jsonCodec.decode(Buffer.from([0xff, 0xfe]))).toThrow()
    expect(() => jsonCodec.decode(Buffer.from("{nope"))).toThrow()
    expect(() => jsonCodec.decode(Buffer.from('{"__pyvisor__":["nope"]}'))).toThrow(/malformed __pyvisor__ tag/)
    expect(() => jsonCodec.decode(Buffer.from('{"__pyvisor__":["int","1.5"]}'))).toThrow(/malformed/)
  })
})

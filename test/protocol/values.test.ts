// The value model of docs/protocol.md section 2.1 on the host: both codecs turn the same value into
// the same thing, refuse the same things, and send no byte outside a typed array's view.
import fc from "fast-check"
import { Packr } from "msgpackr"
import { describe, expect, it } from "vitest"
import { jsonCodec, msgpackCodec, UnserializableError } from "../../src/protocol/index.ts"
import type { Codec } from "../../src/protocol/index.ts"

const codecs: ReadonlyArray<Codec> = [msgpackCodec, jsonCodec]
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const through = (codec: Codec, value: unknown): unknown => (codec.decode(codec.encode({ v: value })) as { v: unknown }).v

describe.each(codecs)("$name", (codec) => {
  const same = (input: unknown, canonical: unknown): void => expect(hex(codec.encode({ v: input }))).toBe(hex(codec.encode({ v: canonical })))

  it("sends exactly a typed array's view, never the rest of its buffer", () => {
    const memory = new Uint8Array(64).fill(0xee) // stands for unrelated data around the view
    const f64 = new Float64Array(memory.buffer, 8, 2)
    f64.set([1.5, -2.5])
    const back = through(codec, f64) as Float64Array
    expect(back).toBeInstanceOf(Float64Array)
    expect([...back]).toEqual([1.5, -2.5])
    expect(hex(codec.encode({ v: f64 }))).not.toContain("eeee")
    for (const view of [new Float32Array(memory.buffer, 4, 1), new Uint16Array(memory.buffer, 2, 3), new Int32Array(memory.buffer, 12, 1)]) {
      view.fill(7)
      const got = through(codec, view) as ArrayLike<number>
      expect(got.constructor).toBe(view.constructor)
      expect([...Array.from(got)]).toEqual([...Array.from(view)])
    }
    const u8 = new Uint8Array(memory.buffer, 10, 3).fill(1)
    expect(hex(through(codec, u8) as Uint8Array)).toBe("010101")
    expect(hex(through(codec, new DataView(memory.buffer, 40, 2)) as Uint8Array)).toBe("eeee")
    expect(hex(through(codec, new DataView(new ArrayBuffer(4))) as Uint8Array)).toBe("00000000")
  })

  it("round-trips every typed array type and bigint arrays", () => {
    for (const value of [new Int8Array([-1]), new Int16Array([-2, 3]), new Uint16Array([65535]), new Int32Array([-7]), new Uint32Array([2 ** 32 - 1]),
      new Float32Array([0.25, Number.NaN]), new Float64Array([Number.MAX_VALUE, -0]), new BigInt64Array([-(2n ** 63n)]), new BigUint64Array([2n ** 64n - 1n])]) {
      const back = through(codec, value) as ArrayBufferView
      expect(back.constructor).toBe(value.constructor)
      expect(back).toEqual(value)
    }
  })

  it("turns what Python has no type for into its nearest value, like JSON.stringify", () => {
    same(new Set([1, "a"]), [1, "a"])
    same(new Map([["a", 1], ["b", undefined]]), { a: 1 })
    same({ a: 1, b: undefined, c: [undefined] }, { a: 1, c: [null] })
    same({ toJSON: (key: string) => `key ${key}` }, "key v")
    same(new (class Point { x = 1; y = 2; norm(): number { return 0 } })(), { x: 1, y: 2 })
    same(new Uint8ClampedArray([1, 2]), Buffer.from([1, 2]))
    same(new Uint8Array([1, 2]).buffer, Buffer.from([1, 2]))
    same(-0, 0)
    same(2 ** 60, 2n ** 60n)
    same(5n, 5)
    same(new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(2026, 0, 1)))
    expect(through(codec, new Date(-1500))).toEqual(new Date(-1500))
    expect(through(codec, 2n ** 53n + 1n)).toBe(2n ** 53n + 1n)
    expect(through(codec, 2 ** 53)).toBe(2 ** 53)
  })

  it("keeps a __proto__ key an ordinary own key, both ways", () => {
    const value = JSON.parse('{"__proto__": {"polluted": 1}, "b": [2]}') as Record<string, unknown>
    const back = through(codec, value) as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.entries(back)).toEqual([["__proto__", { polluted: 1 }], ["b", [2]]])
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
    const map = through(codec, new Map([["__proto__", 1]])) as Record<string, unknown>
    expect(Object.entries(map)).toEqual([["__proto__", 1]])
  })

  it("never reads a user's object as a tag", () => {
    const value = { __pyvisor__: ["bytes", "AAEC"], other: 1 }
    expect(through(codec, value)).toEqual(value)
    expect(through(codec, new Map([["__pyvisor__", ["float", "NaN"]]]))).toEqual({ __pyvisor__: ["float", "NaN"] })
  })

  it("refuses at encode time what Python could not decode, naming where it is", () => {
    const refusals: Array<[unknown, RegExp]> = [
      [{ args: { s: "ok", t: ["x", "a\ud800b"] } }, /args\.t\[1\] is a string with a lone surrogate/],
      [{ ["k\udc00"]: 1 }, /lone surrogate/],
      [{ m: new Map<unknown, unknown>([[1, "a"]]) }, /m is a Map with a number key/],
      [{ m: new Map<unknown, unknown>([[{}, "a"]]) }, /a Map with a object key/],
      [{ d: new Date(Number.NaN) }, /d is an invalid Date/],
      [{ d: new Date(8.64e15) }, /outside years 1-9999/],
      [{ r: /x/ }, /r is a RegExp/],
      [{ e: new Error("x") }, /e is an Error/],
      [{ w: new WeakMap() }, /a WeakMap/],
      [{ p: Promise.resolve(1) }, /a Promise/],
      [{ f: () => 1 }, /f is a function/],
      [{ big: 2n ** 64n }, /outside the 64-bit range/],
      [{ "a b": [{ c: Symbol("s") }] }, /\["a b"\]\[0\]\.c is a symbol/]
    ]
    if (typeof (globalThis as { Float16Array?: unknown }).Float16Array === "function") {
      refusals.push([{ h: new (globalThis as unknown as { Float16Array: new (n: number) => object }).Float16Array(1) }, /a Float16Array/])
    }
    for (const [value, message] of refusals) {
      expect(() => codec.encode(value)).toThrow(UnserializableError)
      expect(() => codec.frame(value)).toThrow(message)
    }
    // Nothing of a refused message is left behind: the next one encodes as ever.
    expect(codec.decode(codec.encode({ kind: "ping", id: 1 }))).toEqual({ kind: "ping", id: 1 })
  })

  it("decodes what Python's msgpack and json write for keys", () => {
    if (codec.name === "msgpack") expect(codec.decode(Buffer.from("8201a161c3a162", "hex"))).toEqual({ 1: "a", true: "b" })
    else expect(codec.decode(Buffer.from('{"1":"a","true":"b"}'))).toEqual({ 1: "a", true: "b" })
  })
})

describe("the msgpack writer", () => {
  // msgpackr writes the same shortest forms for everything but integers beyond 32 bits, and a
  // `__proto__` key (which we carry as extension 0x6F; that case has its own test).
  const oracle = new Packr({ useRecords: false, variableMapSize: true })
  const narrow = (v: unknown): boolean =>
    typeof v === "number" ? !Number.isInteger(v) || (v >= -(2 ** 31) && v < 2 ** 32) || Math.abs(v) >= 2 ** 64
      : Array.isArray(v) ? v.every(narrow)
        : v !== null && typeof v === "object" ? !Object.hasOwn(v, "__proto__") && Object.values(v).every(narrow) : true
  const json = fc.jsonValue().filter(narrow)
  // toEqual tells -0 from 0, and msgpack integers have no sign of zero.
  const unsigned = (v: unknown): unknown => JSON.parse(JSON.stringify(v))

  it("writes JSON-like values byte for byte as msgpackr does, and reads them back", () => {
    fc.assert(fc.property(json, (value) => {
      expect(hex(msgpackCodec.encode(value))).toBe(hex(oracle.pack(value)))
      expect(unsigned(msgpackCodec.decode(msgpackCodec.encode(value)))).toEqual(unsigned(value))
    }), { numRuns: 300 })
  })

  it("writes string, map and array headers at every size boundary", () => {
    for (const n of [0, 31, 32, 63, 64, 65, 255, 256, 65535, 65536, 70000]) {
      for (const unit of ["a", "é", "日", "🐍"]) {
        const s = unit.repeat(Math.ceil(n / unit.length)).slice(0, n)
        const fixed = s.length > 0 && !(s as string & { isWellFormed(): boolean }).isWellFormed() ? s.slice(0, -1) : s
        expect(hex(msgpackCodec.encode(fixed))).toBe(hex(oracle.pack(fixed)))
      }
    }
    for (const n of [15, 16, 65535, 65536]) {
      const object = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i % 100]))
      expect(hex(msgpackCodec.encode(object))).toBe(hex(oracle.pack(object)))
      const array = Array.from({ length: n }, (_, i) => i % 100)
      expect(hex(msgpackCodec.encode(array))).toBe(hex(oracle.pack(array)))
    }
    // Skipped undefined values shrink a 16-entry map back to a fixmap.
    const object = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i < 2 ? undefined : i]))
    expect(hex(msgpackCodec.encode(object))).toBe(hex(oracle.pack(Object.fromEntries(Object.entries(object).slice(2)))))
  })

  it("survives messages larger than its buffer and toJSON that encodes while it encodes", () => {
    const big = { a: "x".repeat(200_000), b: Buffer.alloc(300_000, 1), c: Array.from({ length: 20_000 }, (_, i) => ({ i })) }
    const back = msgpackCodec.decode(msgpackCodec.encode(big)) as typeof big
    expect(back.a).toBe(big.a)
    expect(Buffer.compare(back.b, big.b)).toBe(0)
    expect(back.c[19_999]).toEqual({ i: 19_999 })
    const sneaky = { toJSON: () => hex(msgpackCodec.encode({ inner: [1, 2] })) }
    expect(msgpackCodec.decode(msgpackCodec.encode({ before: "b", s: sneaky, after: "a" })))
      .toEqual({ before: "b", s: hex(msgpackCodec.encode({ inner: [1, 2] })), after: "a" })
  })

  it("never hands out the same bytes twice", () => {
    const first = msgpackCodec.encode({ n: 1 })
    const copy = hex(first)
    for (let i = 0; i < 5000; i++) msgpackCodec.encode({ n: i, pad: "y".repeat(i % 50) })
    expect(hex(first)).toBe(copy)
  })
})

// NdArray (docs/protocol.md section 2.1): numpy arrays of 0 or 2+ dimensions on the host, carried
// alike by both codecs, their data a view of the received bytes where alignment allows.
import { describe, expect, it } from "vitest"
import { jsonCodec, MAX_NDIM, msgpackCodec, NdArray, UnserializableError } from "../../src/protocol/index.ts"
import type { Codec, NdData } from "../../src/protocol/index.ts"

const codecs: ReadonlyArray<Codec> = [msgpackCodec, jsonCodec]
const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")
const through = (codec: Codec, value: unknown): unknown => (codec.decode(codec.encode({ v: value })) as { v: unknown }).v

// One array of every dtype, with values at the edges of its range.
const everyDtype = (): Array<NdArray> => [
  new NdArray(new Int8Array([-128, 127, 0, 1]), [2, 2]),
  new NdArray(new Uint8Array([0, 255, 1, 2]), [2, 2]),
  new NdArray(new Int16Array([-32768, 32767, 0, 1]), [2, 2]),
  new NdArray(new Uint16Array([0, 65535, 1, 2]), [2, 2]),
  new NdArray(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 1]), [2, 2]),
  new NdArray(new Uint32Array([0, 2 ** 32 - 1, 1, 2]), [2, 2]),
  new NdArray(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, 1n]), [2, 2]),
  new NdArray(new BigUint64Array([0n, 2n ** 64n - 1n, 1n, 2n]), [2, 2]),
  new NdArray(new Float32Array([0.5, -3, Number.NaN, Number.POSITIVE_INFINITY]), [2, 2]),
  new NdArray(new Float64Array([1e300, -0, Number.NaN, Number.NEGATIVE_INFINITY]), [2, 2])
]

describe("NdArray", () => {
  it("takes its dtype from its data and freezes its shape", () => {
    const m = new NdArray(new Float32Array(6), [2, 3])
    expect(m.dtype).toBe("float32")
    expect(m.shape).toEqual([2, 3])
    expect(Object.isFrozen(m) && Object.isFrozen(m.shape)).toBe(true)
    const shape = [2, 3]
    const copied = new NdArray(new Int8Array(6), shape)
    shape[0] = 3
    expect(copied.shape).toEqual([2, 3])
    expect(everyDtype().map((a) => a.dtype)).toEqual(["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"])
    expect(new NdArray(Buffer.from([1, 2]), [1, 2]).dtype).toBe("uint8")
    expect(new NdArray(new Float64Array([2.5]), []).shape).toEqual([])
    expect(new NdArray(new Float64Array(0), [0, 3]).shape).toEqual([0, 3])
    expect(new NdArray(new Int8Array(1), Array.from({ length: MAX_NDIM }, () => 1)).shape).toHaveLength(32)
  })

  it("refuses data that is not a numpy dtype's typed array, and shapes that do not fit it", () => {
    const bad = (data: unknown): NdArray => new NdArray(data as NdData, [1])
    expect(() => bad(new Uint8ClampedArray(1))).toThrow(TypeError)
    expect(() => bad(new DataView(new ArrayBuffer(1)))).toThrow(TypeError)
    expect(() => bad([1])).toThrow(/not object/)
    const Float16 = (globalThis as { Float16Array?: new (n: number) => unknown }).Float16Array
    if (Float16 !== undefined) expect(() => bad(new Float16(1))).toThrow(/not Float16Array/)
    for (const shape of [[2, 2], [-1], [0.5, 2], [Number.NaN], [2 ** 32, 0], Array.from({ length: MAX_NDIM + 1 }, () => 1)]) {
      expect(() => new NdArray(new Float64Array(1), shape), `shape ${shape.length}`).toThrow(RangeError)
    }
    expect(() => new NdArray(new Float64Array(1), "1" as unknown as Array<number>)).toThrow(TypeError)
  })
})

describe.each(codecs)("$name", (codec) => {
  it("round-trips every dtype and shape: [2,3], [2,2,2], 0-D, empty", () => {
    for (const value of [
      ...everyDtype(),
      new NdArray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3]),
      new NdArray(new Int32Array([1, 2, 3, 4, 5, 6, 7, 8]), [2, 2, 2]),
      new NdArray(new Float64Array([2.5]), []),
      new NdArray(new Float64Array(0), [0, 3]),
      new NdArray(new Uint16Array(0), [3, 0, 2]),
      new NdArray(new Float64Array(40_000).map((_, i) => i / 7), [100, 20, 20])
    ]) {
      const back = through(codec, value) as NdArray
      expect(back).toBeInstanceOf(NdArray)
      expect(back.dtype).toBe(value.dtype)
      expect(back.shape).toEqual(value.shape)
      expect(back.data.constructor).toBe(value.data.constructor) // a uint8 array's data is a Uint8Array, not a Buffer
      expect(hex(back.data as Uint8Array)).toBe(hex(value.data as Uint8Array)) // NaN and -0 bit for bit
    }
  })

  it("sends a 1-D NdArray as its typed array, which it arrives as", () => {
    const data = new Int16Array([1, -2, 3])
    expect(hex(codec.encode({ v: new NdArray(data, [3]) }))).toBe(hex(codec.encode({ v: data })))
    expect(through(codec, new NdArray(data, [3]))).toEqual(data)
  })

  it("sends exactly the data's view, never the rest of its buffer", () => {
    const memory = new Uint8Array(80).fill(0xee)
    const data = new Float64Array(memory.buffer, 8, 6)
    data.set([1, 2, 3, 4, 5, 6])
    expect(hex(codec.encode({ v: new NdArray(data, [3, 2]) }))).not.toContain("eeee")
    expect([...(through(codec, new NdArray(data, [3, 2])) as NdArray<Float64Array>).data]).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("refuses an NdArray whose data no longer fits its shape, naming where it is", () => {
    const memory = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(32, { maxByteLength: 64 })
    const m = new NdArray(new Float64Array(memory), [2, 2]) // length-tracking: follows the buffer's size
    ;(memory as unknown as { resize(n: number): void }).resize(16)
    expect(() => codec.encode({ args: { m } })).toThrow(UnserializableError)
    expect(() => codec.encode({ args: { m } })).toThrow(/args\.m is an NdArray of shape \[2, 2\] whose data now holds 2 elements/)
  })

  it("refuses malformed arrays when decoding", () => {
    const malformed = codec === msgpackCodec
      // code, ndim, dims: truncated header, a byte too few, a byte too many, uint8clamped, unknown code, a bad 1-D length
      ? ["c7016e03", "c7096e030200000002000000", "c70b6e0302010000000100000000", "c70b6e030201000000010000000000", "c70b6e020201000000010000000000",
        "c70b6e0b0201000000010000000000", "c7086e0101030000000102"]
      : ['{"__pyvisor__":["ndarray","int16",[2,1],"AAA="]}', '{"__pyvisor__":["ndarray","int16",[1,1],"AAAA"]}', '{"__pyvisor__":["ndarray","int16","1","AAA="]}',
        '{"__pyvisor__":["ndarray","uint8clamped",[1,1],"AA=="]}', '{"__pyvisor__":["ndarray","float16",[1,1],"AAA="]}', '{"__pyvisor__":["ndarray","int16",[-1,-1],"AAA="]}']
    for (const text of malformed) expect(() => codec.decode(codec === msgpackCodec ? Buffer.from(text, "hex") : Buffer.from(text)), text).toThrow()
  })
})

describe("wire format", () => {
  const m = new NdArray(new Int16Array([1, 2, 3, 4, 5, 6]), [2, 3])

  it("msgpack: extension 0x6E holding code, ndim, uint32 little-endian dimensions, then the elements", () => {
    expect(hex(msgpackCodec.encode(m))).toBe("c716" + "6e" + "03" + "02" + "02000000" + "03000000" + "010002000300040005000600")
    // 0-D (code 1 uint8, no dimensions, one element); a fixext when the length allows; ext 16 and ext 32.
    expect(hex(msgpackCodec.encode(new NdArray(new Uint8Array([7]), [])))).toBe("c703" + "6e" + "01" + "00" + "07")
    expect(hex(msgpackCodec.encode(new NdArray(new Int16Array([1, 2, 3]), [1, 3])))).toBe("d8" + "6e" + "03" + "02" + "01000000" + "03000000" + "010002000300")
    expect(hex(msgpackCodec.encode(new NdArray(new Float64Array(40), [5, 8]))).slice(0, 28)).toBe("c8014a" + "6e" + "08" + "02" + "05000000" + "08000000")
    expect(hex(msgpackCodec.encode(new NdArray(new Uint8Array(70_000), [7, 10_000]))).slice(0, 32)).toBe("c90001117a" + "6e" + "01" + "02" + "07000000" + "10270000")
  })

  it("json: the ndarray tag, with the dtype's name, the shape and base64 of the elements", () => {
    expect(Buffer.from(jsonCodec.encode(m)).toString()).toBe('{"__pyvisor__":["ndarray","int16",[2,3],"AQACAAMABAAFAAYA"]}')
    expect(Buffer.from(jsonCodec.encode(new NdArray(new Float64Array([1.5]), []))).toString()).toBe('{"__pyvisor__":["ndarray","float64",[],"AAAAAAAA+D8="]}')
  })
})

describe("received data", () => {
  it("is a view of the received bytes when aligned, else a copy, and correct either way", () => {
    const payload = msgpackCodec.encode({ v: new NdArray(new Float64Array([1.5, -2.5, 3.25, 1e300, Number.MIN_VALUE, -0]), [2, 3]) })
    const viewed: Array<number> = []
    for (let offset = 0; offset < 8; offset++) {
      // The payload at every offset of a buffer of its own, as frames sit in the chunks they arrive in.
      const memory = new Uint8Array(payload.length + 16)
      memory.set(payload, offset)
      const received = Buffer.from(memory.buffer, offset, payload.length)
      const back = (msgpackCodec.decode(received) as { v: NdArray<Float64Array> }).v
      expect(back.shape).toEqual([2, 3])
      expect([...back.data]).toEqual([1.5, -2.5, 3.25, 1e300, Number.MIN_VALUE, -0])
      if (back.data.buffer === memory.buffer) {
        viewed.push(offset)
        back.data[0] = 9 // shared: the frame's bytes change with it
        expect(new Float64Array(memory.buffer.slice(back.data.byteOffset, back.data.byteOffset + 8))[0]).toBe(9)
      }
    }
    expect(viewed).toHaveLength(1) // the one offset where the elements start on a multiple of 8
    // A 1-byte dtype is always aligned: never copied.
    const bytes = msgpackCodec.encode({ v: new NdArray(new Int8Array([1, 2, 3, 4]), [2, 2]) })
    for (let offset = 0; offset < 4; offset++) {
      const memory = new Uint8Array(bytes.length + 8)
      memory.set(bytes, offset)
      const back = (msgpackCodec.decode(Buffer.from(memory.buffer, offset, bytes.length)) as { v: NdArray<Int8Array> }).v
      expect(back.data.buffer).toBe(memory.buffer)
      expect([...back.data]).toEqual([1, 2, 3, 4])
    }
  })
})

import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameReader, FrameTooLargeError } from "../../src/protocol/frame.ts"

const collect = (reader: FrameReader, chunks: Array<Buffer>): Array<string> => {
  const out: Array<string> = []
  for (const c of chunks) reader.push(c, (p) => out.push(p.toString("hex")))
  return out
}

describe("frames", () => {
  it("writes a big-endian uint32 length before the payload", () => {
    expect(encodeFrame(Buffer.from("{}")).toString("hex")).toBe("000000027b7d")
    expect(encodeFrame(new Uint8Array(0x010203)).subarray(0, 4).toString("hex")).toBe("00010203")
  })

  it("reads several frames from one chunk and a frame split at every byte", () => {
    const frames = [Buffer.from("a"), Buffer.alloc(0), Buffer.from("hello world")]
    const wire = Buffer.concat(frames.map(encodeFrame))
    expect(collect(new FrameReader(), [wire])).toEqual(frames.map((f) => f.toString("hex")))
    const bytewise = [...wire].map((b) => Buffer.from([b]))
    expect(collect(new FrameReader(), bytewise)).toEqual(frames.map((f) => f.toString("hex")))
  })

  it("decodes any chunking of any frame sequence (property)", () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
      (payloads, cuts) => {
        const wire = Buffer.concat(payloads.map(encodeFrame))
        const chunks: Array<Buffer> = []
        for (let off = 0, i = 0; off < wire.length; i++) {
          const n = cuts[i % cuts.length]!
          chunks.push(wire.subarray(off, off + n))
          off += n
        }
        const reader = new FrameReader()
        expect(collect(reader, chunks)).toEqual(payloads.map((p) => Buffer.from(p).toString("hex")))
        expect(reader.buffered).toBe(0)
      }))
  })

  it("rejects an oversized header before buffering its payload", () => {
    const reader = new FrameReader(16)
    const header = Buffer.from([0, 0, 0, 17])
    expect(() => reader.push(header, () => {})).toThrow(FrameTooLargeError)
    expect(() => new FrameReader(16).push(Buffer.from([0, 0]), () => {})).not.toThrow()
    const split = new FrameReader(16)
    split.push(Buffer.from([0xff, 0xff]), () => {})
    expect(() => split.push(Buffer.from([0xff, 0xff]), () => {})).toThrow(/4294967295 bytes exceeds maxFrameBytes \(16\)/)
  })

  it("accepts a frame of exactly the limit", () => {
    const out = collect(new FrameReader(16), [encodeFrame(Buffer.alloc(16, 7))])
    expect(out).toHaveLength(1)
  })
})

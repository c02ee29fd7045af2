/**
 * Reading msgpack: msgpackr, configured for pyvisor's value model (plain maps, exact 64-bit
 * integers) with its two extensions (OBJECT_EXT for maps with a `__proto__` key, NDARRAY_EXT).
 * The writer is msgpack.ts.
 */
import { addExtension, Unpackr } from "msgpackr"
import { NDARRAY_EXT, ndarrayFromBytes, OBJECT_EXT, objectFromFlat } from "./values.ts"

const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  // exact: number up to 2^53, bigint beyond ("auto" is supported at run time, missing from the typings)
  int64AsType: "auto" as "number"
})

addExtension({
  type: OBJECT_EXT,
  unpack(data: Uint8Array): unknown {
    const flat = unpackr.unpack(data) as unknown
    if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new Error("malformed object extension")
    const object = objectFromFlat(flat)
    if (object === undefined) throw new Error("malformed object extension: a key is not a string")
    return object
  }
})

// The data is a view of the payload: the NdArray's elements stay there when aligned.
addExtension({
  type: NDARRAY_EXT,
  unpack(data: Uint8Array): unknown {
    const ndim = data.length >= 2 ? data[1]! : 0
    const start = 2 + 4 * ndim
    if (data.length < start) throw new Error("malformed ndarray extension: shorter than its header")
    const dims = new DataView(data.buffer, data.byteOffset + 2, 4 * ndim)
    const shape = Array.from({ length: ndim }, (_, i) => dims.getUint32(4 * i, true))
    return ndarrayFromBytes(data[0]!, shape, data.subarray(start))
  }
})

/** Decodes one msgpack payload. Throws on malformed input. */
export const unpackMessage = (payload: Uint8Array): unknown => unpackr.unpack(payload)

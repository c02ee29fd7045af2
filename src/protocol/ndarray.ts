/**
 * {@link NdArray}: a numpy array of any number of dimensions on the host (docs/protocol.md
 * section 2.1). Imports nothing: values.ts builds on it.
 */

/** The element type of an {@link NdArray}: numpy's dtype name, and the typed array that holds it. */
export type NdDtype = "int8" | "uint8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64" | "float32" | "float64"

/** The typed array of each {@link NdDtype}. */
export interface NdDataOf {
  int8: Int8Array
  uint8: Uint8Array
  int16: Int16Array
  uint16: Uint16Array
  int32: Int32Array
  uint32: Uint32Array
  int64: BigInt64Array
  uint64: BigUint64Array
  float32: Float32Array
  float64: Float64Array
}

/** The elements of an {@link NdArray}: one of the typed arrays of {@link NdDataOf}. */
export type NdData = NdDataOf[NdDtype]

/** Most dimensions an {@link NdArray} may have: numpy 1's limit, so that every numpy can read it. */
export const MAX_NDIM = 32

// By Symbol.toStringTag, which a Uint8ClampedArray or a Buffer subclass cannot fake.
const DTYPES: Readonly<Record<string, NdDtype>> = {
  Int8Array: "int8", Uint8Array: "uint8", Int16Array: "int16", Uint16Array: "uint16", Int32Array: "int32", Uint32Array: "uint32",
  BigInt64Array: "int64", BigUint64Array: "uint64", Float32Array: "float32", Float64Array: "float64"
}

const tagOf = (value: unknown): string | undefined =>
  ArrayBuffer.isView(value) ? (value as unknown as { [Symbol.toStringTag]: string | undefined })[Symbol.toStringTag] : undefined

/** The dtype of a typed array that can be the data of an {@link NdArray}, or undefined. */
export const ndDtypeOf = (data: unknown): NdDtype | undefined => {
  const tag = tagOf(data)
  return tag === undefined ? undefined : DTYPES[tag]
}

/**
 * A numpy array of any shape: its elements, flat, in C order (the last index varies fastest), and
 * its shape. Python's numpy arrays of 0 or 2+ dimensions arrive as one (Fortran-ordered and strided
 * arrays too: Python sends their elements in C order), and one sent from the host arrives in Python
 * as a numpy array of that shape and dtype (a `pyvisor_worker.NdArray` where numpy is not
 * installed). 1-D arrays stay plain typed arrays both ways: a 1-D NdArray is sent as its `data`.
 *
 * A received array's `data` shares the memory of the frame it came in when its offset there suits
 * the element size (else it is one copy), and keeps that memory alive while it is referenced: read
 * it through `data`, never `data.buffer` as a whole. The instance is frozen; the elements are not.
 *
 * @example
 * ```ts
 * import { NdArray } from "pyvisor"
 * const m = new NdArray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3])
 * m.dtype // "float32"
 * const back = (await pool.call("transpose", { m })) as NdArray<Float32Array>
 * back.shape // [3, 2]
 * back.data[1 * 2 + 0] // element [1, 0]: 1
 * ```
 */
export class NdArray<T extends NdData = NdData> {
  /** The element type, from the typed array of `data`. */
  readonly dtype: NdDtype
  /** The length of each dimension; `[]` for a 0-D array (one element). */
  readonly shape: ReadonlyArray<number>
  /** The elements in C order: `shape` multiplied out is `data.length`. */
  readonly data: T

  /**
   * Throws TypeError when `data` is not one of the typed arrays of {@link NdDataOf} (a
   * Uint8ClampedArray, a DataView…), RangeError when `shape` is not a list of at most
   * {@link MAX_NDIM} integers in [0, 2^32) whose product is `data.length`.
   */
  constructor(data: T, shape: ReadonlyArray<number>) {
    const dtype = ndDtypeOf(data)
    if (dtype === undefined) {
      throw new TypeError(`NdArray data must be a typed array of a numpy dtype (Float64Array, Int32Array…), not ${tagOf(data) ?? typeof data}`)
    }
    if (!Array.isArray(shape)) throw new TypeError("NdArray shape must be an array of dimension lengths")
    if (shape.length > MAX_NDIM) throw new RangeError(`NdArray of ${shape.length} dimensions: at most ${MAX_NDIM}`)
    let size = 1
    for (const n of shape as ReadonlyArray<unknown>) {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n >= 2 ** 32) {
        throw new RangeError(`NdArray shape [${shape.join(", ")}] must hold integers in [0, 2^32)`)
      }
      size *= n
    }
    if (size !== data.length) throw new RangeError(`NdArray of shape [${shape.join(", ")}] needs ${size} elements, data has ${data.length}`)
    this.dtype = dtype
    this.shape = Object.freeze([...shape])
    this.data = data
    Object.freeze(this)
  }
}

/**
 * The value model both payload codecs share (docs/protocol.md section 2.1): which JavaScript
 * values travel, as what, and which are refused. The msgpack writer and the JSON preparer each
 * walk a value once and apply these rules; test/vectors pins that they agree.
 */
import { NdArray } from "./ndarray.ts"
import type { NdData } from "./ndarray.ts"

/** Name of a payload codec, as negotiated in the handshake. */
export type CodecName = "msgpack" | "json"

/** Thrown when a value cannot be carried by a codec (a function, a lone surrogate, a Map with a number key…). */
export class UnserializableError extends Error {
  constructor(codec: CodecName, detail: string) {
    super(`value cannot be encoded as ${codec}: ${detail}`)
    this.name = "UnserializableError"
  }
}

/**
 * A refusal inside a walk. `path` collects the keys on the way out, so the final message names
 * where the value sits (`args.points[3]`); the codec turns it into an {@link UnserializableError}.
 */
export class Refusal extends Error {
  readonly detail: string
  readonly path: Array<string | number> = []
  constructor(detail: string) {
    super(detail)
    this.detail = detail
  }
}

/** "a Map", "an Error". */
export const article = (name: string): string => `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`

/** Throws a {@link Refusal}. */
export const refuse = (detail: string): never => {
  throw new Refusal(detail)
}

/** Adds one step to a refusal's path on its way out; anything else goes through untouched. */
export const along = (error: unknown, key: string | number): unknown => {
  if (error instanceof Refusal) error.path.push(key)
  return error
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/** The codec's error for a refusal: `<path> is <detail>`; other errors (stack overflow…) keep their text. */
export const unserializable = (codec: CodecName, error: unknown): UnserializableError => {
  if (error instanceof UnserializableError) return error
  if (!(error instanceof Refusal)) return new UnserializableError(codec, String((error as Error | undefined)?.message ?? error))
  let path = "value"
  for (let i = error.path.length - 1; i >= 0; i--) {
    const key = error.path[i]!
    path = typeof key === "number" ? `${path}[${key}]` : IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`
  }
  path = path.replace(/^value\./, "")
  if (path.length > 120) path = `${path.slice(0, 60)}…${path.slice(-60)}`
  return new UnserializableError(codec, `${path} is ${error.detail}`)
}

/** Containers nested deeper than this (counting the message itself) are refused: a cycle ends here too. */
export const MAX_DEPTH = 500

export const tooDeep = (): never => refuse(`nested more than ${MAX_DEPTH} levels deep (or circular)`)

/** Integers in [-2^63, 2^64) travel as integers; integral numbers outside, as floats. */
export const INT_MIN = -(2 ** 63)
export const INT_LIMIT = 2 ** 64
export const BIG_MIN = -(2n ** 63n)
export const BIG_LIMIT = 2n ** 64n

/** Refuses a bigint outside the 64-bit range both codecs carry. */
export const checkBigInt = (value: bigint): bigint =>
  value >= BIG_MIN && value < BIG_LIMIT ? value : refuse(`a bigint (${value}) outside the 64-bit range [-2^63, 2^64)`)

type WellFormed = string & { isWellFormed?: () => boolean }

/** Refuses `value`, a string holding a lone surrogate: no UTF-8 encoding exists for it. */
export const loneSurrogate = (value: string): never => refuse(`a string with a lone surrogate (${JSON.stringify(value.slice(0, 40))})`)

/** Refuses a string holding a lone surrogate. */
export const checkString = (value: string): string => ((value as WellFormed).isWellFormed!() ? value : loneSurrogate(value))

/**
 * Typed arrays travel with a code (msgpack extension 0x74, JSON tag "typed") and their
 * little-endian bytes. The codes are msgpackr's own, so its decoder reads them as they are.
 * Uint8Array, Uint8ClampedArray, DataView and ArrayBuffer are bytes, not typed arrays.
 */
export const TYPED_ARRAYS = [
  ["int8", Int8Array], ["uint8", Uint8Array], ["uint8clamped", Uint8ClampedArray], ["int16", Int16Array], ["uint16", Uint16Array],
  ["int32", Int32Array], ["uint32", Uint32Array], ["float32", Float32Array], ["float64", Float64Array],
  ["int64", BigInt64Array], ["uint64", BigUint64Array]
] as const

/** The msgpack extension type of typed arrays (msgpackr's "t"). */
export const TYPED_EXT = 0x74
/**
 * The msgpack extension type of arrays of 0 or 2+ dimensions ("n", unused by msgpackr): 1 byte
 * code (as TYPED_EXT's), 1 byte ndim, ndim uint32 little-endian dimensions, the elements
 * little-endian in C order.
 */
export const NDARRAY_EXT = 0x6e
/** The msgpack extension type of a map holding a `__proto__` key: a flat array of keys and values. */
export const OBJECT_EXT = 0x6f
/** The timestamp extension type of the msgpack spec. */
export const TIMESTAMP_EXT = -1

const TYPED_CODE: Readonly<Record<string, number>> = Object.fromEntries(
  TYPED_ARRAYS.map(([, ctor], code) => [ctor.name, code]))

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

type Typed = Exclude<ArrayBufferView, DataView | Uint8Array | Uint8ClampedArray> & { readonly BYTES_PER_ELEMENT: number }

/** The bytes of a typed array, little-endian, exactly its view (never the rest of its buffer). */
const littleEndian = (view: ArrayBufferView & { readonly BYTES_PER_ELEMENT: number }): Uint8Array => {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  if (LITTLE_ENDIAN || view.BYTES_PER_ELEMENT === 1) return bytes
  const swapped = new Uint8Array(bytes)
  for (let i = 0, n = view.BYTES_PER_ELEMENT; i < swapped.length; i += n) swapped.subarray(i, i + n).reverse()
  return swapped
}

/** A typed array rebuilt from its code and little-endian bytes (copied: aligned, and owned by the result). */
export const typedFromBytes = (code: number, bytes: Uint8Array): ArrayBufferView => {
  const entry = TYPED_ARRAYS[code]
  if (entry === undefined) throw new Error(`unknown typed array code ${code}`)
  const ctor = entry[1]
  if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) throw new Error(`${bytes.byteLength} bytes are not a whole ${ctor.name}`)
  const copy = new Uint8Array(bytes)
  if (!LITTLE_ENDIAN) for (let i = 0, n = ctor.BYTES_PER_ELEMENT; i < copy.length; i += n) copy.subarray(i, i + n).reverse()
  return new ctor(copy.buffer)
}

/**
 * The value of an array of `shape` with element code `code` and little-endian bytes `bytes`: a
 * typed array when 1-D (copied, as typedFromBytes), else an NdArray whose data is a view of
 * `bytes` when its offset suits the element size, else a copy. Throws on malformed input.
 */
export const ndarrayFromBytes = (code: number, shape: ReadonlyArray<unknown>, bytes: Uint8Array): unknown => {
  if (code === UINT8_CLAMPED || TYPED_ARRAYS[code] === undefined) throw new Error(`malformed ndarray: element code ${code}`)
  if (shape.length === 1) {
    const typed = typedFromBytes(code, bytes) as NdData
    if (shape[0] !== typed.length) throw new Error(`malformed ndarray: shape [${String(shape[0])}] for ${typed.length} elements`)
    return typed
  }
  const ctor = TYPED_ARRAYS[code][1] as unknown as { new (buffer: ArrayBufferLike, byteOffset: number, length: number): NdData; BYTES_PER_ELEMENT: number; name: string }
  const size = ctor.BYTES_PER_ELEMENT
  if (bytes.byteLength % size !== 0) throw new Error(`malformed ndarray: ${bytes.byteLength} bytes are not a whole ${ctor.name}`)
  const data = LITTLE_ENDIAN && bytes.byteOffset % size === 0
    ? new ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / size)
    : typedFromBytes(code, bytes) as NdData
  return new NdArray(data, shape as ReadonlyArray<number>)
}

const UINT8_CLAMPED = 2

/** The code of a typed-array name used in JSON tags ("float64"), or undefined. */
export const typedCode = (name: unknown): number | undefined => {
  const code = TYPED_ARRAYS.findIndex(([n]) => n === name)
  return code < 0 ? undefined : code
}

/** Python's datetime range, years 1 to 9999, in epoch milliseconds. */
export const DATE_MIN_MS = -62_135_596_800_000
export const DATE_MAX_MS = 253_402_300_799_999

const dateMs = (date: Date): number => {
  const ms = date.getTime()
  if (Number.isNaN(ms)) return refuse("an invalid Date")
  if (ms < DATE_MIN_MS || ms > DATE_MAX_MS) return refuse(`a Date outside years 1-9999 (${date.toISOString()}), which Python's datetime cannot hold`)
  return ms
}

/** What a non-plain object travels as. */
export type Special =
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  | { readonly kind: "typed"; readonly code: number; readonly bytes: Uint8Array }
  /** An NdArray of 0 or 2+ dimensions (a 1-D one is "typed"). */
  | { readonly kind: "ndarray"; readonly code: number; readonly shape: ReadonlyArray<number>; readonly bytes: Uint8Array }
  | { readonly kind: "date"; readonly ms: number }
  /** A Map (its keys checked to be strings): a map. */
  | { readonly kind: "map"; readonly map: Map<string, unknown> }
  /** A Set: an array of its items. */
  | { readonly kind: "set"; readonly set: Set<unknown> }
  /** What the object's toJSON(key) returned, to be encoded in its place. */
  | { readonly kind: "json"; readonly value: unknown }
  /** A class instance: its own enumerable string-keyed properties, as JSON.stringify takes them. */
  | { readonly kind: "object" }

const hasSharedArrayBuffer = typeof SharedArrayBuffer === "function"

/**
 * Classifies an object that is neither an array nor a plain object (`Object.prototype` or null
 * prototype), or refuses it. `key` is handed to a toJSON method, as JSON.stringify does.
 */
export const classify = (value: object, key: string | number): Special => {
  if (ArrayBuffer.isView(value)) {
    if (value instanceof Uint8Array || value instanceof Uint8ClampedArray || value instanceof DataView) {
      return { kind: "bytes", bytes: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) }
    }
    const name = (value as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]
    const code = TYPED_CODE[name]
    if (code === undefined) return refuse(`${article(name)}, which has no Python equivalent`)
    return { kind: "typed", code, bytes: littleEndian(value as Typed) }
  }
  if (value instanceof NdArray) return classifyNdArray(value)
  if (value instanceof ArrayBuffer || (hasSharedArrayBuffer && value instanceof SharedArrayBuffer)) {
    return { kind: "bytes", bytes: new Uint8Array(value) }
  }
  if (value instanceof Date) return { kind: "date", ms: dateMs(value) }
  if (value instanceof Map) {
    for (const k of value.keys()) if (typeof k !== "string") refuse(`a Map with a ${k === null ? "null" : typeof k} key (only string keys travel)`)
    return { kind: "map", map: value as Map<string, unknown> }
  }
  if (value instanceof Set) return { kind: "set", set: value }
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === "function") return { kind: "json", value: toJSON.call(value, String(key)) as unknown }
  const tag = Object.prototype.toString.call(value)
  if (tag === "[object Object]") return { kind: "object" }
  return refuse(`${article(tag.slice(8, -1))}, which has no Python equivalent`)
}

// The instance is frozen, but a length-tracking view of a resizable buffer may have changed since.
const classifyNdArray = (value: NdArray): Special => {
  const { data, shape } = value
  let size = 1
  for (const n of shape) size *= n
  if (data.length !== size) return refuse(`an NdArray of shape [${shape.join(", ")}] whose data now holds ${data.length} elements`)
  const code = TYPED_CODE[(data as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag]]!
  const bytes = littleEndian(data)
  return shape.length === 1 ? { kind: "typed", code, bytes } : { kind: "ndarray", code, shape, bytes }
}

/**
 * The object of a flat list of keys and values (msgpack's OBJECT_EXT, JSON's "object" tag), each
 * key an own property, `__proto__` too; undefined when a key is not a string.
 */
export const objectFromFlat = (flat: ReadonlyArray<unknown>): Record<string, unknown> | undefined => {
  const object: Record<string, unknown> = {}
  for (let i = 0; i < flat.length; i += 2) {
    const k: unknown = flat[i]
    if (typeof k !== "string") return undefined
    Object.defineProperty(object, k, { value: flat[i + 1], enumerable: true, writable: true, configurable: true })
  }
  return object
}

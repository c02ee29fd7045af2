/**
 * Store values are kept encoded with the wire's msgpack codec, so both backends hold the same
 * bytes, size limits apply to encoded bytes, and a worker receives exactly what was stored.
 * @module
 */
import { SerializationError } from "../errors.ts"
import { msgpackCodec, UnserializableError } from "../protocol/codec.ts"
import { ValueTooLargeError } from "./errors.ts"

const describe = (value: unknown): string => {
  if (value === undefined) return "undefined"
  if (typeof value === "function") return "a function"
  if (typeof value === "symbol") return "a symbol"
  if (typeof value === "number") return String(value)
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name
  return name === undefined || name === "" ? "an object with a custom prototype" : `a ${name}`
}

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

// Returns the path of the first value the Python side could not read back as written, or undefined.
const findUnserializable = (value: unknown, path: string, seen: Set<object>): string | undefined => {
  switch (typeof value) {
    case "string": case "boolean": case "bigint": case "number": case "undefined": return undefined
    case "function": case "symbol": return `${path} is ${describe(value)}`
  }
  if (value === null) return undefined
  const object = value as object
  if (object instanceof Uint8Array) return undefined // Buffer included; other typed arrays are msgpackr extensions
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? `${path} is an invalid Date` : undefined
  if (seen.has(object)) return `${path} is a circular reference`
  if (Array.isArray(object)) {
    seen.add(object)
    for (let i = 0; i < object.length; i++) {
      const bad = findUnserializable(object[i], `${path}[${i}]`, seen)
      if (bad !== undefined) return bad
    }
    seen.delete(object)
    return undefined
  }
  if (!isPlainObject(object)) return `${path} is ${describe(object)} (only plain objects, arrays, Date and Uint8Array are stored)`
  if (Object.getOwnPropertySymbols(object).length > 0) return `${path} has symbol keys`
  seen.add(object)
  for (const [k, item] of Object.entries(object)) {
    const bad = findUnserializable(item, `${path}${/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`, seen)
    if (bad !== undefined) return bad
  }
  seen.delete(object)
  return undefined
}

/**
 * Encodes a value for storage, or throws `SerializationError` (not carried faithfully by the wire
 * codec: functions, symbols, class instances, Map/Set, typed arrays other than Uint8Array,
 * cycles, bigints beyond 64 bits, top-level `undefined`) or `ValueTooLargeError`. Nested
 * `undefined` reads back as `null`, as on the wire.
 *
 * @example
 * ```ts
 * const bytes = encodeValue("k", { a: [1, 2] }, 16 * 1024 * 1024)
 * decodeValue(bytes) // { a: [1, 2] }
 * ```
 */
export const encodeValue = (key: string, value: unknown, maxBytes: number): Uint8Array => {
  const bad = value === undefined ? "value is undefined (use delete)" : findUnserializable(value, "value", new Set())
  if (bad !== undefined) throw new SerializationError({ message: `store value for key ${JSON.stringify(key)} cannot be stored: ${bad}` })
  let bytes: Uint8Array
  try {
    bytes = msgpackCodec.encode(value)
  } catch (cause) {
    const detail = cause instanceof UnserializableError ? cause.message : String(cause)
    throw new SerializationError({ message: `store value for key ${JSON.stringify(key)} cannot be stored: ${detail}` })
  }
  if (bytes.byteLength > maxBytes) {
    throw new ValueTooLargeError({
      message: `store value for key ${JSON.stringify(key)} is ${bytes.byteLength} bytes encoded, more than maxValueBytes ${maxBytes}`,
      key,
      bytes: bytes.byteLength,
      maxBytes
    })
  }
  return bytes
}

/**
 * Decodes stored bytes (a fresh copy each time: mutating it does not change the store).
 *
 * @example
 * ```ts
 * decodeValue(encodeValue("k", "hello", 1024)) // "hello"
 * ```
 */
export const decodeValue = (bytes: Uint8Array): unknown => msgpackCodec.decode(bytes)

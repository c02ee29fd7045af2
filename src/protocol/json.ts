/**
 * The JSON codec's value mapping. JSON has no bytes, dates, typed arrays, NaN or 64-bit integers,
 * so those travel as tagged objects, `{"__pyvisor__": [kind, ...payload]}`; a map of the user's
 * that has a `__pyvisor__` key is itself wrapped (kind "object"), so no user value is ever read as
 * a tag. Encoding: one walk that copies only what it must change, then the native JSON.stringify
 * with no replacer. Decoding: the native JSON.parse, with a reviver only when the text holds a tag.
 */
import {
  along, checkBigInt, checkString, classify, INT_LIMIT, INT_MIN, MAX_DEPTH, ndarrayFromBytes, objectFromFlat, refuse, tooDeep,
  TYPED_ARRAYS, typedCode, typedFromBytes, unserializable
} from "./values.ts"

/** The key of a tagged object. */
export const TAG = "__pyvisor__"

// Integers beyond ±2^53 travel as ["int", "digits"]: a double cannot hold them, nor can JSON.parse.
const EXACT = 2 ** 53
const BIG_EXACT = 2n ** 53n
const INTEGER = /^-?\d+$/
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")

const prepare = (value: unknown, depth: number, key: string | number): unknown => {
  switch (typeof value) {
    case "string": return checkString(value)
    case "number":
      if (value <= EXACT && value >= -EXACT) return value
      if (!Number.isFinite(value)) return { __pyvisor__: ["float", String(value)] }
      if (value < INT_MIN || value >= INT_LIMIT) {
        // JSON.stringify writes 1e20 as 100000000000000000000, which Python would read as an int.
        return rawJSON(value.toExponential())
      }
      // Beyond 2^53 (all integral): exact digits, read back as a bigint like msgpack's int64.
      return { __pyvisor__: ["int", BigInt(value).toString()] }
    case "boolean":
    case "undefined": // omitted in objects, null in arrays: JSON.stringify does both
      return value
    case "object": return value === null ? null : prepareObject(value, depth, key)
    case "bigint":
      checkBigInt(value)
      return value <= BIG_EXACT && value >= -BIG_EXACT ? rawJSON(value.toString()) : { __pyvisor__: ["int", value.toString()] }
    default: return refuse(`a ${typeof value}`)
  }
}

const prepareObject = (value: object, depth: number, key: string | number): unknown => {
  if (depth >= MAX_DEPTH) tooDeep()
  if (Array.isArray(value)) return prepareArray(value, depth)
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") return prepare(toJSON.call(value, String(key)), depth, key)
    return preparePlain(value as Record<string, unknown>, depth)
  }
  if (value instanceof Uint8Array) return { __pyvisor__: ["bytes", base64(value)] }
  const special = classify(value, key)
  switch (special.kind) {
    case "bytes": return { __pyvisor__: ["bytes", base64(special.bytes)] }
    case "typed": return { __pyvisor__: ["typed", TYPED_ARRAYS[special.code]![0], base64(special.bytes)] }
    case "ndarray": return { __pyvisor__: ["ndarray", TYPED_ARRAYS[special.code]![0], special.shape, base64(special.bytes)] }
    case "date": return { __pyvisor__: ["date", special.ms] }
    case "map": return special.map.has(TAG) ? wrap(special.map, depth) : prepareEntries(special.map, depth)
    case "set": return prepareArray([...special.set], depth)
    case "json": return prepare(special.value, depth, key)
    case "object": return preparePlain(value as Record<string, unknown>, depth)
  }
}

const prepareArray = (value: ReadonlyArray<unknown>, depth: number): ReadonlyArray<unknown> => {
  let copy: Array<unknown> | undefined
  for (let i = 0; i < value.length; i++) {
    const item = value[i]
    let next: unknown
    try {
      next = prepare(item, depth + 1, i)
    } catch (error) {
      throw along(error, i)
    }
    if (next !== item) (copy ??= value.slice())[i] = next
  }
  return copy ?? value
}

// Own enumerable string keys (JSON.stringify's); copied into a null-prototype object on the
// first change, so a `__proto__` key stays an ordinary key.
const preparePlain = (value: Record<string, unknown>, depth: number): unknown => {
  const keys = Object.keys(value)
  let copy: Record<string, unknown> | undefined
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (k === TAG) return wrap(Object.entries(value), depth)
    const item = value[k]
    const next = prepareEntry(k, item, depth)
    if (next !== item && copy === undefined) {
      copy = Object.create(null) as Record<string, unknown>
      for (let j = 0; j < i; j++) copy[keys[j]!] = value[keys[j]!]
    }
    if (copy !== undefined) copy[k] = next
  }
  return copy ?? value
}

// The value of one entry of a map, its key checked.
const prepareEntry = (k: string, item: unknown, depth: number): unknown => {
  try {
    checkString(k)
    return prepare(item, depth + 1, k)
  } catch (error) {
    throw along(error, k)
  }
}

const prepareEntries = (entries: Iterable<[string, unknown]>, depth: number): Record<string, unknown> => {
  const copy = Object.create(null) as Record<string, unknown>
  for (const [k, item] of entries) copy[k] = prepareEntry(k, item, depth)
  return copy
}

// A map with a `__pyvisor__` key: ["object", [k1, v1, k2, v2, ...]], undefined values left out.
const wrap = (entries: Iterable<[string, unknown]>, depth: number): unknown => {
  const flat: Array<unknown> = []
  for (const [k, item] of entries) if (item !== undefined) flat.push(k, prepareEntry(k, item, depth))
  return { __pyvisor__: ["object", flat] }
}

/** JSON text of one message, or UnserializableError. */
export const stringifyMessage = (message: unknown): string => {
  try {
    if (message === undefined) refuse("undefined")
    return JSON.stringify(prepare(message, 0, ""))
  } catch (error) {
    throw unserializable("json", error)
  }
}

// ── decoding ─────────────────────────────────────────────────────────────────

const malformed = (why: string): never => {
  throw new Error(`malformed ${TAG} tag: ${why}`)
}

const bytesOf = (text: unknown): Buffer => (typeof text === "string" ? Buffer.from(text, "base64") : malformed("base64 text expected"))

const FLOATS: Readonly<Record<string, number>> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, "-Infinity": Number.NEGATIVE_INFINITY }

const untag = (tagged: Record<string, unknown>): unknown => {
  const payload = tagged[TAG]
  if (Object.keys(tagged).length !== 1 || !Array.isArray(payload)) return malformed("not a one-key object holding an array")
  switch (payload[0]) {
    case "bytes": return bytesOf(payload[1])
    case "typed": {
      const code = typedCode(payload[1])
      return code === undefined ? malformed(`unknown typed array ${String(payload[1])}`) : typedFromBytes(code, bytesOf(payload[2]))
    }
    case "ndarray": {
      // The base64 decoder's buffer is fresh and aligned: the NdArray's data is a view of it.
      const code = typedCode(payload[1])
      if (code === undefined) return malformed(`unknown typed array ${String(payload[1])}`)
      return Array.isArray(payload[2]) ? ndarrayFromBytes(code, payload[2], bytesOf(payload[3])) : malformed("ndarray without a shape")
    }
    case "float": {
      const value = FLOATS[payload[1] as string]
      return value === undefined ? malformed(`unknown float ${String(payload[1])}`) : value
    }
    case "date": return typeof payload[1] === "number" ? new Date(payload[1]) : malformed("date without milliseconds")
    case "int": return typeof payload[1] === "string" && INTEGER.test(payload[1]) ? BigInt(payload[1]) : malformed("int without digits")
    case "object": {
      const flat: unknown = payload[1]
      if (!Array.isArray(flat) || flat.length % 2 !== 0) return malformed("object without a flat list of keys and values")
      return objectFromFlat(flat) ?? malformed("object key is not a string")
    }
    default: return malformed(`unknown kind ${String(payload[0])}`)
  }
}

function revive(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Array.isArray(value) && Object.hasOwn(value, TAG)) {
    return untag(value as Record<string, unknown>)
  }
  return value
}

/** The value of one JSON text. Throws on malformed input. */
export const parseMessage = (text: string): unknown =>
  // The reviver (slow: a call per value) only when the text holds a tag.
  text.includes('"__pyvisor__":') ? JSON.parse(text, revive) : JSON.parse(text)

/**
 * Payload codecs: msgpack (msgpackr, plain maps so Python's msgpack reads them) and
 * JSON (stdlib on the Python side, always available). See docs/protocol.md section 2.
 */
import { Packr, RESERVE_START_SPACE } from "msgpackr"
import { HEADER_BYTES } from "./frame.ts"

/** Name of a payload codec, as negotiated in the handshake. */
export type CodecName = "msgpack" | "json"

/** Encodes and decodes one message payload. */
export interface Codec {
  readonly name: CodecName
  encode(message: unknown): Uint8Array
  /** The whole frame (header + payload) of one message: `encodeFrame(encode(message))` in one buffer, no copy. */
  frame(message: unknown): Uint8Array
  decode(payload: Uint8Array): unknown
}

/** Thrown when a value cannot be carried by a codec (a function, a bigint in JSON, bytes in JSON…). */
export class UnserializableError extends Error {
  constructor(codec: CodecName, detail: string) {
    super(`value cannot be encoded as ${codec}: ${detail}`)
    this.name = "UnserializableError"
  }
}

const packr = new Packr({
  useRecords: false,          // records are a msgpackr extension Python cannot read
  variableMapSize: true,      // smallest map header, as Python writes it
  encodeUndefinedAsNil: true,
  mapsAsObjects: true,
  // exact: number up to 2^53, bigint beyond ("auto" is supported at run time, missing from the typings)
  int64AsType: "auto" as "number"
})

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Prepares a value for msgpackr. msgpackr writes integers outside the 32-bit ranges as
 * float64, so Python would see `Date.now()` as a float: such integers become BigInt, which
 * msgpackr writes as int64/uint64. Functions and symbols are refused. Copy-on-write: no
 * allocation when nothing changes.
 */
const widenLargeInts = (value: unknown): unknown => {
  // msgpackr would write these as nil or an empty map: silent data loss.
  if (typeof value === "function" || typeof value === "symbol") throw new UnserializableError("msgpack", `a ${typeof value}`)
  if (typeof value === "number") {
    return Number.isInteger(value) && (value > 0xffff_ffff || value < -0x8000_0000) ? BigInt(value) : value
  }
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) {
    let copy: Array<unknown> | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const widened = widenLargeInts(item)
      if (widened !== item) (copy ??= value.slice())[i] = widened
    }
    return copy ?? value
  }
  if (!isPlainObject(value)) return value
  let copy: Record<string, unknown> | undefined
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key]
    const widened = widenLargeInts(item)
    if (widened !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = widened
  }
  return copy ?? value
}

const packMessage = (message: unknown, options?: number): Uint8Array => {
  try {
    return packr.pack(widenLargeInts(message), options) as Uint8Array
  } catch (cause) {
    if (cause instanceof UnserializableError) throw cause
    throw new UnserializableError("msgpack", String((cause as Error).message ?? cause))
  }
}

// msgpackr leaves 4 bytes free before the payload, in its own buffer: the header goes there.
const RESERVE_HEADER = RESERVE_START_SPACE | HEADER_BYTES

/** Writes the big-endian payload length into the first 4 bytes of a frame. */
const writeHeader = (frame: Uint8Array): Uint8Array => {
  const length = frame.length - HEADER_BYTES
  frame[0] = length >>> 24
  frame[1] = (length >>> 16) & 0xff
  frame[2] = (length >>> 8) & 0xff
  frame[3] = length & 0xff
  return frame
}

/**
 * The msgpack codec.
 *
 * @example
 * ```ts
 * msgpackCodec.decode(msgpackCodec.encode({ kind: "ping", id: 1 })) // { kind: "ping", id: 1 }
 * ```
 */
export const msgpackCodec: Codec = {
  name: "msgpack",
  encode(message) {
    return packMessage(message)
  },
  // The buffer msgpackr returns is a view of its working buffer, which it never writes over again.
  frame(message) {
    return writeHeader(packMessage(message, RESERVE_HEADER))
  },
  decode(payload) {
    return packr.unpack(payload)
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

// A function (not arrow) so that `this[key]` is the value before Buffer#toJSON ran.
function jsonReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key]
  if (original instanceof Uint8Array) throw new UnserializableError("json", "bytes need the msgpack codec")
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new UnserializableError("json", `non-finite number ${value}`)
  }
  if (typeof value === "function" || typeof value === "symbol") {
    throw new UnserializableError("json", `a ${typeof value}`)
  }
  return value
}

const stringify = (message: unknown): string => {
  let text: string
  try {
    text = JSON.stringify(message, jsonReplacer)
    if (text === undefined) throw new UnserializableError("json", "undefined")
  } catch (cause) {
    if (cause instanceof UnserializableError) throw cause
    throw new UnserializableError("json", String((cause as Error).message ?? cause))
  }
  return text
}

/**
 * The JSON codec: compact UTF-8 JSON, no NaN/Infinity, no bytes.
 *
 * @example
 * ```ts
 * new TextDecoder().decode(jsonCodec.encode({ kind: "ping", id: 1 })) // '{"kind":"ping","id":1}'
 * ```
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(message) {
    return Buffer.from(stringify(message), "utf8")
  },
  frame(message) {
    const text = stringify(message)
    // UTF-8 takes at most 3 bytes per UTF-16 unit: small texts go straight into one pooled buffer.
    if (text.length <= 1024) {
      const frame = Buffer.allocUnsafe(HEADER_BYTES + 3 * text.length)
      return writeHeader(frame.subarray(0, HEADER_BYTES + frame.write(text, HEADER_BYTES, "utf8")))
    }
    const frame = Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(text, "utf8"))
    frame.write(text, HEADER_BYTES, "utf8")
    return writeHeader(frame)
  },
  decode(payload) {
    return JSON.parse(utf8.decode(payload))
  }
}

/** The codecs the host speaks, in its order of preference. */
export const HOST_CODECS: ReadonlyArray<Codec> = [msgpackCodec, jsonCodec]

/**
 * Picks the host's most preferred codec among those a worker offered, or undefined.
 *
 * @example
 * ```ts
 * chooseCodec(["json"])?.name // "json"
 * ```
 */
export const chooseCodec = (offered: ReadonlyArray<string>): Codec | undefined =>
  HOST_CODECS.find((codec) => offered.includes(codec.name))

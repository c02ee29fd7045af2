/**
 * Payload codecs: msgpack (a writer of our own, msgpackr to read) and JSON (stdlib on the Python
 * side, always available). Both carry the same values (values.ts). See docs/protocol.md section 2.
 */
import { HEADER_BYTES } from "./frame.ts"
import { frameLength } from "./frame.ts"
import type { Frame } from "./frame.ts"
import { parseMessage, stringifyMessage } from "./json.ts"
import { packMessage, packParts } from "./msgpack.ts"
import { unpackMessage } from "./msgpack-read.ts"
import type { CodecName } from "./values.ts"

export { UnserializableError } from "./values.ts"
export type { CodecName } from "./values.ts"

/** Encodes and decodes one message payload. */
export interface Codec {
  readonly name: CodecName
  encode(message: unknown): Uint8Array
  /**
   * The whole frame (header + payload) of one message, as `encodeFrame(encode(message))` without
   * its copies: one buffer, or parts to write in order (large binaries, referenced, not copied).
   */
  frame(message: unknown): Frame
  decode(payload: Uint8Array): unknown
}

/** The whole frame of a JSON text: header, then the UTF-8 bytes. */
const jsonFrame = (text: string): Uint8Array => {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: small texts go straight into one pooled buffer.
  if (text.length <= 1024) {
    const frame = Buffer.allocUnsafe(HEADER_BYTES + 3 * text.length)
    return writeHeader(frame.subarray(0, HEADER_BYTES + frame.write(text, HEADER_BYTES, "utf8")))
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + Buffer.byteLength(text, "utf8"))
  frame.write(text, HEADER_BYTES, "utf8")
  return writeHeader(frame)
}

/** Writes the big-endian payload length into the first 4 bytes of a frame. */
const writeHeader = (frame: Uint8Array, length = frame.length - HEADER_BYTES): Uint8Array => {
  frame[0] = length >>> 24
  frame[1] = (length >>> 16) & 0xff
  frame[2] = (length >>> 8) & 0xff
  frame[3] = length & 0xff
  return frame
}

/**
 * The msgpack codec (docs/protocol.md section 2). Typed arrays travel as extension 0x74, NdArrays
 * as extension 0x6E, Dates as timestamps, integers up to 64 bits as integers; what Python could
 * not read is refused.
 *
 * @example
 * ```ts
 * msgpackCodec.decode(msgpackCodec.encode({ kind: "ping", id: 1 })) // { kind: "ping", id: 1 }
 * ```
 */
export const msgpackCodec: Codec = {
  name: "msgpack",
  encode(message) {
    return packMessage(message, 0)
  },
  // The writer leaves the 4 header bytes free in front of the payload, in its own buffer.
  frame(message) {
    const out = packParts(message, HEADER_BYTES)
    if (!Array.isArray(out)) return writeHeader(out)
    writeHeader(out[0]!, frameLength(out) - HEADER_BYTES)
    return out
  },
  decode(payload) {
    return unpackMessage(payload)
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The JSON codec: compact UTF-8 JSON. Carries what msgpack carries, bytes, dates, typed arrays,
 * NdArrays, NaN and 64-bit integers included, as tagged objects (docs/protocol.md section 2.2).
 *
 * @example
 * ```ts
 * new TextDecoder().decode(jsonCodec.encode({ kind: "ping", id: 1 })) // '{"kind":"ping","id":1}'
 * ```
 */
export const jsonCodec: Codec = {
  name: "json",
  encode(message) {
    return Buffer.from(stringifyMessage(message), "utf8")
  },
  frame(message) {
    return jsonFrame(stringifyMessage(message))
  },
  decode(payload) {
    return parseMessage(utf8.decode(payload))
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

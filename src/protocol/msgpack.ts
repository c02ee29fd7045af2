/**
 * The msgpack writer, pyvisor's own (msgpack-read.ts decodes, with msgpackr).
 *
 * The writer applies the value model of values.ts while it writes, in one pass: no walk before
 * encoding, no copy of the arguments. It writes the shortest form of every header and integer (as
 * Python's msgpack does), integers up to 64 bits as integers (msgpackr would write those beyond 32
 * bits as float64), and refuses what Python could not decode (lone surrogates, Map keys that are
 * not strings, invalid Dates…) before anything is sent. Frames are slices of one working buffer
 * that only moves forward, so a frame handed out is never written over.
 *
 * Large binaries (bytes, typed arrays, NdArrays of {@link SPILL_BYTES} or more) are not copied into
 * that buffer: the frame comes out in parts — what was written before the binary, the caller's own
 * bytes, what follows — which the connection hands to one `writev`. A part already cut is never
 * moved again; so a binary is kept inline where the writer may still shift what precedes it (inside
 * a map of 16 or more entries, whose header may grow, or an OBJECT_EXT).
 */
import {
  along, BIG_MIN, checkBigInt, checkString, classify, INT_LIMIT, INT_MIN, loneSurrogate, MAX_DEPTH, NDARRAY_EXT, OBJECT_EXT,
  refuse, TIMESTAMP_EXT, tooDeep, TYPED_EXT, unserializable
} from "./values.ts"

const INITIAL_BYTES = 64 * 1024
// A buffer grown past this for one big message is dropped after it, not kept for small ones.
const KEEP_BYTES = 4 * 1024 * 1024
const TWO_32 = 4294967296
const TWO_63 = 2 ** 63
const BIG_INT64_LIMIT = 2n ** 63n
/** Binaries at least this big go out as frame parts of their own, uncopied. */
export const SPILL_BYTES = 64 * 1024

let buf = Buffer.allocUnsafeSlow(INITIAL_BYTES)
let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
let end = buf.length
let pos = 0
let start = 0
let busy = false
/** Parts of the message cut so far (null: none, the message is one slice), and where the next begins. */
let parts: Array<Uint8Array> | null = null
let partStart = 0
/** Open regions the writer may still shift (see above): no part may be cut inside one. */
let pinned = 0
/** Per cut part: the buffer and `start` when it was cut, where a map open across it finds its header. */
let cuts: Array<{ readonly buf: Buffer; readonly start: number }> = []
/** A map of this many entries or more may need a longer header, moving what follows: it pins. */
const PIN_ENTRIES = 16

const fresh = (size: number): void => {
  buf = Buffer.allocUnsafeSlow(size)
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  end = buf.length
  pos = 0
}

// Moves the message written so far (since the last cut part) into a buffer with room for `need`
// more bytes. Offsets from `start` stay valid for everything after the last cut.
const grow = (need: number): void => {
  const old = buf
  const from = parts === null ? start : partStart
  const used = pos - from
  fresh(Math.max(INITIAL_BYTES, (used + need) * 2))
  old.copy(buf, 0, from, from + used)
  start -= from
  partStart = 0
  pos = used
}

// Sends `bytes` as a part of its own when it is big and nothing may move: the header written just
// before it ends the current part. True when it did (the caller writes no bytes of it).
const spill = (bytes: Uint8Array): boolean => {
  if (bytes.byteLength < SPILL_BYTES || pinned > 0) return false
  const cut = buf.subarray(partStart, pos)
  if (parts === null) parts = [cut]
  else parts.push(cut)
  parts.push(bytes)
  cuts.push({ buf, start })
  partStart = pos
  return true
}

const writeNil = (): void => {
  if (pos + 1 > end) grow(1)
  buf[pos++] = 0xc0
}

const writeNumber = (value: number): void => {
  if (pos + 9 > end) grow(9)
  if (value >>> 0 === value) { // 0 … 2^32-1 (and -0)
    if (value < 0x80) buf[pos++] = value
    else if (value < 0x100) {
      buf[pos++] = 0xcc
      buf[pos++] = value
    } else if (value < 0x10000) {
      buf[pos++] = 0xcd
      buf[pos++] = value >>> 8
      buf[pos++] = value & 0xff
    } else {
      buf[pos++] = 0xce
      view.setUint32(pos, value)
      pos += 4
    }
  } else if (value >> 0 === value) { // -2^31 … -1
    if (value >= -0x20) buf[pos++] = value & 0xff
    else if (value >= -0x80) {
      buf[pos++] = 0xd0
      buf[pos++] = value & 0xff
    } else if (value >= -0x8000) {
      buf[pos++] = 0xd1
      view.setInt16(pos, value)
      pos += 2
    } else {
      buf[pos++] = 0xd2
      view.setInt32(pos, value)
      pos += 4
    }
  } else if (Number.isInteger(value) && value >= INT_MIN && value < INT_LIMIT) {
    // Exact: both halves of an integral double below 2^64 are integers below 2^32.
    const high = Math.floor(value / TWO_32)
    buf[pos] = value < TWO_63 ? 0xd3 : 0xcf
    view.setUint32(pos + 1, high >>> 0)
    view.setUint32(pos + 5, value - high * TWO_32)
    pos += 9
  } else { // fractions, NaN, ±Infinity, integral numbers beyond 64 bits
    buf[pos] = 0xcb
    view.setFloat64(pos + 1, value)
    pos += 9
  }
}

const BIG_EXACT = 2n ** 53n

// The same bytes as the equal number: shortest form, 64-bit ones beyond 2^53.
const writeBigInt = (value: bigint): void => {
  checkBigInt(value)
  if (value <= BIG_EXACT && value >= -BIG_EXACT) return writeNumber(Number(value))
  if (pos + 9 > end) grow(9)
  if (value >= BIG_MIN && value < BIG_INT64_LIMIT) {
    buf[pos] = 0xd3
    view.setBigInt64(pos + 1, value)
  } else {
    buf[pos] = 0xcf
    view.setBigUint64(pos + 1, value)
  }
  pos += 9
}

/**
 * The size of the header of a str, bin, array, map (or ext, before its type byte) of `n` bytes or
 * items: 1 when `n < fixLimit` (the fix form: 0x20 for str, 0x10 for array and map, 0 for bin and
 * ext), else a code then `n` in 1 byte (only str, bin and ext have that form), 2 or 4.
 */
const headerSize = (n: number, fixLimit: number, has8: boolean): number =>
  n < fixLimit ? 1 : has8 && n < 0x100 ? 2 : n < 0x10000 ? 3 : 5

/**
 * Writes at `at` the header {@link headerSize} measured as `size`: `fix | n`, or a code and `n`
 * big-endian. The codes of each family follow each other: `code16 - 1` (8-bit length), `code16`,
 * `code16 + 1` (str 0xda, bin 0xc5, array 0xdc, map 0xde, ext 0xc8).
 */
const putHeader = (at: number, n: number, size: number, fix: number, code16: number): void => {
  if (size === 1) buf[at] = fix | n
  else if (size === 2) {
    buf[at] = code16 - 1
    buf[at + 1] = n
  } else if (size === 3) {
    buf[at] = code16
    view.setUint16(at + 1, n)
  } else {
    buf[at] = code16 + 1
    view.setUint32(at + 1, n)
  }
}

const writeString = (value: string): void => {
  const n = value.length
  if (n < 64) {
    // Short strings: UTF-8 by hand (cheaper than a call into C++), checking surrogates on the way.
    if (pos + n * 3 + 2 > end) grow(n * 3 + 2)
    let p = pos + 1
    for (let i = 0; i < n; i++) {
      let c = value.charCodeAt(i)
      if (c < 0x80) buf[p++] = c
      else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6)
        buf[p++] = 0x80 | (c & 0x3f)
      } else if ((c & 0xf800) === 0xd800) {
        const d = c < 0xdc00 && i + 1 < n ? value.charCodeAt(i + 1) : 0
        if ((d & 0xfc00) !== 0xdc00) loneSurrogate(value)
        i++
        c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff)
        buf[p++] = 0xf0 | (c >> 18)
        buf[p++] = 0x80 | ((c >> 12) & 0x3f)
        buf[p++] = 0x80 | ((c >> 6) & 0x3f)
        buf[p++] = 0x80 | (c & 0x3f)
      } else {
        buf[p++] = 0xe0 | (c >> 12)
        buf[p++] = 0x80 | ((c >> 6) & 0x3f)
        buf[p++] = 0x80 | (c & 0x3f)
      }
    }
    const length = p - pos - 1
    if (length < 0x20) {
      buf[pos] = 0xa0 | length
      pos = p
    } else { // at most 189 bytes: str8, one more header byte
      buf.copyWithin(pos + 2, pos + 1, p)
      buf[pos] = 0xd9
      buf[pos + 1] = length
      pos = p + 1
    }
    return
  }
  checkString(value)
  let max = n * 3
  if (pos + max + 5 > end) {
    // Not room for the worst case: measure the string (cheap next to a new buffer).
    max = Buffer.byteLength(value, "utf8")
    if (pos + max + 5 > end) grow(max + 5)
  }
  const guess = headerSize(max, 0x20, true)
  const length = buf.write(value, pos + guess, "utf8")
  const size = headerSize(length, 0x20, true)
  if (size !== guess) buf.copyWithin(pos + size, pos + guess, pos + guess + length)
  putHeader(pos, length, size, 0xa0, 0xda)
  pos += size + length
}

const writeBin = (bytes: Uint8Array): void => {
  const n = bytes.byteLength
  const inline = n < SPILL_BYTES || pinned > 0 ? n : 0
  if (pos + inline + 5 > end) grow(inline + 5)
  const size = headerSize(n, 0, true)
  putHeader(pos, n, size, 0, 0xc5)
  pos += size
  if (spill(bytes)) return
  buf.set(bytes, pos)
  pos += n
}

// Extension header for `length` data bytes, type byte included, shortest form (fixext when the
// length allows, as Python).
const extHeaderSize = (length: number): number =>
  length === 1 || length === 2 || length === 4 || length === 8 || length === 16 ? 2 : headerSize(length, 0, true) + 1

const putExtHeader = (at: number, length: number, type: number): void => {
  const size = extHeaderSize(length)
  if (size === 2) buf[at] = 0xd4 + 31 - Math.clz32(length) // fixext 1, 2, 4, 8, 16: 0xd4 … 0xd8
  else putHeader(at, length, size - 1, 0, 0xc8)
  buf[at + size - 1] = type & 0xff
}

const writeTyped = (code: number, bytes: Uint8Array): void => {
  const length = bytes.byteLength + 1
  const size = extHeaderSize(length)
  const inline = bytes.byteLength < SPILL_BYTES || pinned > 0 ? length : 1
  if (pos + size + inline > end) grow(size + inline)
  putExtHeader(pos, length, TYPED_EXT)
  pos += size
  buf[pos++] = code
  if (spill(bytes)) return
  buf.set(bytes, pos)
  pos += bytes.byteLength
}

// NDARRAY_EXT: code, ndim, the dimensions as uint32 little-endian, then the elements.
const writeNdArray = (code: number, shape: ReadonlyArray<number>, bytes: Uint8Array): void => {
  const length = 2 + 4 * shape.length + bytes.byteLength
  const size = extHeaderSize(length)
  const inline = bytes.byteLength < SPILL_BYTES || pinned > 0 ? length : 2 + 4 * shape.length
  if (pos + size + inline > end) grow(size + inline)
  putExtHeader(pos, length, NDARRAY_EXT)
  pos += size
  buf[pos++] = code
  buf[pos++] = shape.length
  for (const n of shape) {
    view.setUint32(pos, n, true)
    pos += 4
  }
  if (spill(bytes)) return
  buf.set(bytes, pos)
  pos += bytes.byteLength
}

// The msgpack timestamp extension, in the form Python's msgpack writes for the same instant:
// seconds (floor) and nanoseconds.
const writeTimestamp = (ms: number): void => {
  const seconds = Math.floor(ms / 1000)
  const nanoseconds = (ms - seconds * 1000) * 1_000_000
  if (pos + 15 > end) grow(15)
  if (seconds >= 0 && seconds < 2 ** 34) {
    if (nanoseconds === 0 && seconds < TWO_32) {
      putExtHeader(pos, 4, TIMESTAMP_EXT)
      view.setUint32(pos + 2, seconds)
      pos += 6
    } else {
      putExtHeader(pos, 8, TIMESTAMP_EXT)
      view.setUint32(pos + 2, nanoseconds * 4 + Math.floor(seconds / TWO_32))
      view.setUint32(pos + 6, seconds >>> 0)
      pos += 10
    }
  } else {
    putExtHeader(pos, 12, TIMESTAMP_EXT)
    view.setUint32(pos + 3, nanoseconds)
    const high = Math.floor(seconds / TWO_32)
    view.setInt32(pos + 7, high)
    view.setUint32(pos + 11, seconds - high * TWO_32)
    pos += 15
  }
}

// Array and map headers: `count` items. For maps, written after the entries (undefined values
// are skipped, so the count is known only then): the entries move when the header is not 1 byte.
const writeArrayHeader = (count: number): void => {
  if (pos + 5 > end) grow(5)
  const size = headerSize(count, 0x10, false)
  putHeader(pos, count, size, 0x90, 0xdc)
  pos += size
}

// The map whose 1 byte header was left free at `offset` from the message start (an offset: the
// buffer may have moved since), opened when `cutsAtOpen` parts had been cut. A map cut across (it
// was not pinned, so it has fewer than 16 entries) finds its header where the first cut left it.
// `pin` is what the map added to `pinned` when it opened (see pinFor). An exception on the way
// leaves `pinned` raised: packParts resets it, so no writer needs a finally.
const closeMap = (offset: number, count: number, cutsAtOpen: number, pin: number): void => {
  pinned -= pin
  if (cuts.length > cutsAtOpen) {
    const at = cuts[cutsAtOpen]!
    at.buf[at.start + offset] = 0x80 | count
    return
  }
  const size = headerSize(count, 0x10, false)
  if (size > 1) {
    if (pos + size - 1 > end) grow(size - 1)
    buf.copyWithin(start + offset + size, start + offset + 1, pos)
    pos += size - 1
  }
  putHeader(start + offset, count, size, 0x80, 0xde)
}

// A map of PIN_ENTRIES or more may need a longer header, moving its contents: it pins until closed.
const pinFor = (entries: number): number => {
  const pin = entries >= PIN_ENTRIES ? 1 : 0
  pinned += pin
  return pin
}

// One entry of a map: its key, then its value.
const writeEntry = (k: string, item: unknown, depth: number): void => {
  try {
    writeString(k)
    writeValue(item, depth + 1, k)
  } catch (error) {
    throw along(error, k)
  }
}

// A `__proto__` key makes the map an OBJECT_EXT, which msgpackr reads back with the key intact
// (its maps rename it).
const PROTO = "__proto__"

/** One value. `key` is its key or index in its parent, for toJSON. */
const writeValue = (value: unknown, depth: number, key: string | number): void => {
  switch (typeof value) {
    case "string": return writeString(value)
    case "number": return writeNumber(value)
    case "boolean":
      if (pos + 1 > end) grow(1)
      buf[pos++] = value ? 0xc3 : 0xc2
      return
    case "object":
      if (value === null) return writeNil()
      return writeObject(value, depth, key)
    case "undefined": return writeNil() // array items; object properties that are undefined are skipped
    case "bigint": return writeBigInt(value)
    default: return refuse(`a ${typeof value}`)
  }
}

const writeObject = (value: object, depth: number, key: string | number): void => {
  if (depth >= MAX_DEPTH) tooDeep()
  if (Array.isArray(value)) return writeArray(value, depth)
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) {
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") return writeValue(toJSON.call(value, String(key)), depth, key)
    return writePlain(value as Record<string, unknown>, depth)
  }
  if (value instanceof Uint8Array) return writeBin(value) // Buffer too: the common special case first
  const special = classify(value, key)
  switch (special.kind) {
    case "bytes": return writeBin(special.bytes)
    case "typed": return writeTyped(special.code, special.bytes)
    case "ndarray": return writeNdArray(special.code, special.shape, special.bytes)
    case "date": return writeTimestamp(special.ms)
    case "map": return writeMap(special.map, depth)
    case "set": return writeItems(special.set, special.set.size, depth)
    case "json": return writeValue(special.value, depth, key)
    case "object": return writePlain(value as Record<string, unknown>, depth)
  }
}

const writeArray = (value: ReadonlyArray<unknown>, depth: number): void => {
  const n = value.length
  writeArrayHeader(n)
  for (let i = 0; i < n; i++) {
    try {
      writeValue(value[i], depth + 1, i)
    } catch (error) {
      throw along(error, i)
    }
  }
}

const writeItems = (items: Iterable<unknown>, count: number, depth: number): void => {
  writeArrayHeader(count)
  let i = 0
  for (const item of items) {
    try {
      writeValue(item, depth + 1, i)
    } catch (error) {
      throw along(error, i)
    }
    i++
  }
}

// Own enumerable string keys, as JSON.stringify takes them; undefined values are skipped.
const writePlain = (value: Record<string, unknown>, depth: number): void => {
  const keys = Object.keys(value)
  if (Object.hasOwn(value, PROTO) && value[PROTO] !== undefined) return writeProtoObject(Object.entries(value), depth)
  if (pos + 1 > end) grow(1)
  const offset = pos++ - start
  const opened = cuts.length
  const pin = pinFor(keys.length)
  let count = 0
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    const item = value[k]
    if (item === undefined) continue
    writeEntry(k, item, depth)
    count++
  }
  closeMap(offset, count, opened, pin)
}

const writeMap = (map: Map<string, unknown>, depth: number): void => {
  if (map.has(PROTO)) return writeProtoObject(map.entries(), depth)
  if (pos + 1 > end) grow(1)
  const offset = pos++ - start
  const opened = cuts.length
  const pin = pinFor(map.size)
  let count = 0
  for (const [k, item] of map) {
    if (item === undefined) continue
    writeEntry(k, item, depth)
    count++
  }
  closeMap(offset, count, opened, pin)
}

// OBJECT_EXT: the keys and values, flat, in one array inside the extension.
const writeProtoObject = (entries: Iterable<[string, unknown]>, depth: number): void => {
  const flat: Array<unknown> = []
  for (const [k, item] of entries) if (item !== undefined) flat.push(k, item)
  if (pos + 6 > end) grow(6)
  const offset = pos - start
  pos += 6 // the longest extension header; moved back below
  writeArrayHeader(flat.length)
  pinned++ // its header is written last and may move what follows: no part is cut inside it
  for (let i = 0; i < flat.length; i += 2) writeEntry(flat[i] as string, flat[i + 1], depth)
  pinned--
  const at = start + offset
  const length = pos - at - 6
  const size = extHeaderSize(length)
  buf.copyWithin(at + size, at + 6, pos)
  pos -= 6 - size
  putExtHeader(at, length, OBJECT_EXT)
}

/**
 * Encodes one message, leaving `reserve` bytes free in front (for the frame header): one buffer,
 * or the parts of a message with large binaries, in order (the first holds the reserve). Throws
 * UnserializableError, having written nothing that will ever be sent. The parts reference the
 * caller's binaries: they must not change until written.
 */
export const packParts = (message: unknown, reserve: number): Buffer | Array<Uint8Array> => {
  if (busy) return packNested(message, reserve)
  if (end - pos < 1024) fresh(INITIAL_BYTES)
  busy = true
  start = pos
  partStart = pos
  pos += reserve
  let out: Buffer | Array<Uint8Array>
  try {
    if (message === undefined) refuse("undefined")
    writeValue(message, 0, "")
    if (parts === null) out = buf.subarray(start, pos)
    else {
      parts.push(buf.subarray(partStart, pos))
      out = parts
    }
  } catch (error) {
    pos = parts === null ? start : partStart
    throw unserializable("msgpack", error)
  } finally {
    busy = false
    parts = null
    pinned = 0
    if (cuts.length > 0) cuts = []
  }
  if (buf.length > KEEP_BYTES) fresh(INITIAL_BYTES)
  return out
}

/** {@link packParts} as one buffer (parts joined). */
export const packMessage = (message: unknown, reserve: number): Buffer => {
  const out = packParts(message, reserve)
  return Array.isArray(out) ? Buffer.concat(out) : out
}

// An encode from inside an encode (a toJSON that encodes): its own buffer, then the outer state back.
const packNested = (message: unknown, reserve: number): Buffer | Array<Uint8Array> => {
  const saved = { buf, view, end, pos, start, parts, partStart, pinned, cuts }
  busy = false
  parts = null
  pinned = 0
  cuts = []
  fresh(INITIAL_BYTES)
  try {
    return packParts(message, reserve)
  } finally {
    ({ buf, view, end, pos, start, parts, partStart, pinned, cuts } = saved)
    busy = true
  }
}

/**
 * How test/vectors/messages.json spells what JSON itself cannot: `{"$bytes": hex}`,
 * `{"$typed": [name, little-endian hex]}`, `{"$ndarray": [name, shape, little-endian hex in C order]}`,
 * `{"$date": epoch ms}`, `{"$float": "NaN" | "1e+20" …}` and `{"$int": "digits"}` (integers beyond
 * 2^53). test/python/test_vectors.py reads the same forms.
 */
import { NdArray } from "../../src/protocol/ndarray.ts"
import type { NdData } from "../../src/protocol/ndarray.ts"
import { TYPED_ARRAYS, typedCode, typedFromBytes } from "../../src/protocol/values.ts"

const MARKERS = new Set(["$bytes", "$typed", "$ndarray", "$date", "$float", "$int"])

/** A value of the file, with its markers turned into the values they stand for. */
export const fromFile = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(fromFile)
  if (value === null || typeof value !== "object") return value
  const entries = Object.entries(value)
  if (entries.length === 1 && MARKERS.has(entries[0]![0])) {
    const [marker, payload] = entries[0]!
    switch (marker) {
      case "$bytes": return Buffer.from(payload as string, "hex")
      case "$typed": {
        const [name, hex] = payload as [string, string]
        return typedFromBytes(typedCode(name)!, Buffer.from(hex, "hex"))
      }
      case "$ndarray": {
        const [name, shape, hex] = payload as [string, Array<number>, string]
        return new NdArray(typedFromBytes(typedCode(name)!, Buffer.from(hex, "hex")) as NdData, shape)
      }
      case "$date": return new Date(payload as number)
      case "$float": return Number(payload)
      case "$int": return BigInt(payload as string)
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, fromFile(v)]))
}

const hex = (view: ArrayBufferView): string => Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("hex")

/** The file form of a value (typed arrays written little-endian, as this machine holds them). */
export const toFile = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return { $bytes: hex(value) }
  if (value instanceof NdArray) return { $ndarray: [value.dtype, value.shape, hex(value.data)] }
  if (ArrayBuffer.isView(value)) {
    const name = TYPED_ARRAYS.find(([, ctor]) => value instanceof ctor)![0]
    return { $typed: [name, hex(value)] }
  }
  if (value instanceof Date) return { $date: value.getTime() }
  if (typeof value === "bigint") return { $int: value.toString() }
  // Integral numbers outside [-2^63, 2^64) travel as floats: JSON.stringify would write them as digits.
  if (typeof value === "number" && (!Number.isFinite(value) || value < -(2 ** 63) || value >= 2 ** 64)) {
    return { $float: Number.isFinite(value) ? value.toExponential() : String(value) }
  }
  if (Array.isArray(value)) return value.map(toFile)
  if (value !== null && typeof value === "object") {
    const out = Object.create(null) as Record<string, unknown>
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toFile(v)
    return out
  }
  return value
}

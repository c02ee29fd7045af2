// Writes test/vectors/messages.json: one entry per message kind, then one per kind of value (bytes,
// typed arrays, N-D arrays, dates, non-finite and 64-bit numbers, awkward keys), with their JSON and msgpack
// frames as hex. Both test suites decode and re-encode them byte for byte (docs/protocol.md §5).
// Run: node scripts/vectors.ts (needs /usr/bin/python3 with msgpack)
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { encodeFrame, jsonCodec, msgpackCodec, NdArray } from "../src/protocol/index.ts"
import { toFile } from "../test/vectors/file-form.ts"

const bytes = Buffer.from([0, 1, 2, 254, 255])
// A map whose keys JSON.parse keeps as own properties, `__proto__` included.
const protoKeyed = JSON.parse('{"__proto__": {"polluted": true}, "b": 2}') as Record<string, unknown>
const manyKeys = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i]))
const messages: Array<[string, Record<string, unknown>]> = [
  ["hello", { kind: "hello", protocol: 1, pid: 4242, python: "3.11.7", codecs: ["msgpack", "json"] }],
  ["welcome", { kind: "welcome", codec: "msgpack" }],
  ["welcome-features", { kind: "welcome", codec: "json", features: ["chunks"] }],
  ["ready-ok", { kind: "ready", status: "ok", handlers: ["add", "echo"] }],
  ["ready-error", { kind: "ready", status: "error", type: "ModuleNotFoundError", message: "No module named 'nope'", traceback: "Traceback (most recent call last):\n  ...\n" }],
  ["call-kwargs", { kind: "call", id: 1, name: "add", args: { a: 1, b: 2 } }],
  ["call-positional", { kind: "call", id: 2, name: "add", args: [1.5, -2] }],
  ["call-full", { kind: "call", id: 4294967295, name: "tokens", args: { n: 3 }, session: "user-42", deadline: 1790000000000, stream: true, window: 64 }],
  ["call-unicode", { kind: "call", id: 7, name: "echo", args: { value: "héllo ✓ 日本 🐍", long: "x".repeat(300) } }],
  ["result-null", { kind: "result", id: 1, value: null }],
  ["result-nested", { kind: "result", id: 3, value: { list: [1, -1, 128, -129, 65536, 2 ** 40], ok: true, no: false, pi: 3.14159, s: "" } }],
  ["result-bytes", { kind: "result", id: 4, value: bytes }],
  ["error", { kind: "error", id: 5, type: "ValueError", message: "boom", traceback: "Traceback (most recent call last):\nValueError: boom\n" }],
  ["chunk", { kind: "chunk", id: 6, value: [0, "a"] }],
  ["chunks", { kind: "chunks", id: 6, values: [1, "b", [2]] }],
  ["end", { kind: "end", id: 6 }],
  ["cancel", { kind: "cancel", id: 6 }],
  ["credit", { kind: "credit", id: 6, n: 32 }],
  ["ping", { kind: "ping", id: 1 }],
  ["pong", { kind: "pong", id: 1 }],
  ["host_call", { kind: "host_call", id: 9, name: "store.get", args: { key: "k" } }],
  ["host_call-for-call", { kind: "host_call", id: 10, name: "store.get", args: { key: "k" }, call: 4 }],
  ["host_result", { kind: "host_result", id: 9, value: { version: 2, value: "v" } }],
  ["host_error", { kind: "host_error", id: 9, type: "KeyError", message: "k" }],
  ["log", { kind: "log", level: "warning", message: "slow import" }],
  ["shutdown", { kind: "shutdown", graceMs: 5000 }],
  // Values (docs/protocol.md section 2.1): the same value decodes alike from either codec.
  ["value-bytes", { kind: "call", id: 10, name: "echo", args: { empty: Buffer.alloc(0), nested: [bytes, { b: Buffer.from("héllo") }], big: Buffer.alloc(300, 7) } }],
  ["value-typed", { kind: "call", id: 11, name: "echo", args: {
    f64: new Float64Array([1.5, -2.25, 1e300]), f32: new Float32Array([0.5, -3]), i8: new Int8Array([-128, 127]),
    i16: new Int16Array([-32768, 1]), u16: new Uint16Array([65535, 2]), i32: new Int32Array([-2147483648, 3]),
    u32: new Uint32Array([4294967295, 4]), i64: new BigInt64Array([-(2n ** 63n), 5n]), u64: new BigUint64Array([2n ** 64n - 1n, 6n]),
    empty: new Float64Array(0), long: new Float64Array(40).fill(0.25)
  } }],
  ["value-dates", { kind: "result", id: 12, value: {
    epoch: new Date(0), seconds: new Date(1_790_000_000_000), ms: new Date(1_790_000_000_123), before1970: new Date(-1500),
    after2106: new Date(4_400_000_000_001), first: new Date(-62_135_596_800_000), last: new Date(253_402_300_799_999)
  } }],
  ["value-floats", { kind: "result", id: 13, value: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e20, 2 ** 64, -1e19, 0.1, -2.5, 1e300] }],
  ["value-ints", { kind: "result", id: 14, value: {
    exact: 2 ** 53, negExact: -(2 ** 53), above: 2n ** 53n + 1n, below: -(2n ** 53n) - 1n, i64min: -(2n ** 63n),
    i63max: 2n ** 63n - 1n, u64max: 2n ** 64n - 1n, u32: 4294967295, i32: -2147483648, small: [0, 127, 128, 255, 256, 65535, 65536, -1, -32, -33, -128, -129, -32768, -32769]
  } }],
  ["value-keys", { kind: "result", id: 15, value: { "": 1, "é": 2, "日本 🐍": 3, "with space": 4, "$bytes2": 5 } }],
  ["value-proto-key", { kind: "result", id: 16, value: { outer: protoKeyed, list: [protoKeyed] } }],
  ["value-tag-key", { kind: "host_result", id: 17, value: { __pyvisor__: ["bytes", "AAEC"], other: [1] } }],
  ["value-sizes", { kind: "result", id: 18, value: { many: manyKeys, list: Array.from({ length: 17 }, (_, i) => i), s31: "a".repeat(31), s32: "b".repeat(32),
    s255: "c".repeat(255), s256: "d".repeat(256), multi: "é".repeat(40), astral: "🐍".repeat(20), empty: "", nested: [[[], {}]] } }],
  // N-D arrays: every dtype, 0-D, empty, and one large enough for a 16-bit extension length.
  ["value-ndarray", { kind: "call", id: 19, name: "echo", args: {
    f32: new NdArray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3]), i32: new NdArray(new Int32Array([-1, 2, -3, 4, -5, 6, -7, 8]), [2, 2, 2]),
    f64: new NdArray(new Float64Array([1.5]), []), empty: new NdArray(new Float64Array(0), [0, 3]), u8: new NdArray(new Uint8Array([0, 255, 1, 2]), [2, 2]),
    i8: new NdArray(new Int8Array([-128, 127]), [1, 2]), i16: new NdArray(new Int16Array([-32768, 1]), [2, 1]), u16: new NdArray(new Uint16Array([65535, 2]), [1, 2]),
    u32: new NdArray(new Uint32Array([4294967295, 4]), [2, 1]), i64: new NdArray(new BigInt64Array([-(2n ** 63n), 5n]), [1, 1, 2]),
    u64: new NdArray(new BigUint64Array([2n ** 64n - 1n, 6n]), [2, 1, 1]), big: new NdArray(new Float64Array(48).fill(0.25), [4, 12])
  } }]
]

const hex = (payload: Uint8Array): string => encodeFrame(payload).toString("hex")
const vectors = messages.map(([name, message]) => ({
  name,
  message: toFile(message),
  json: hex(jsonCodec.encode(message)),
  msgpack: hex(msgpackCodec.encode(message))
}))
// Python's msgpack writes positive integers of 2^32 or more as uint64 where the host writes int64:
// both are valid msgpack. Where the bytes differ, the entry also carries Python's form (the
// worker's own codec, on /usr/bin/python3 with msgpack); each suite must decode both forms and
// re-encode to its own. Its JSON must be the host's, byte for byte.
const root = fileURLToPath(new URL("..", import.meta.url))
const python = `
import json, sys
sys.path[:0] = ["python", "test/python"]
from pyvisor_worker.protocol import JsonCodec, MsgpackCodec, load_msgpack
from test_vectors import from_file
vs = json.load(sys.stdin)
mp, js = MsgpackCodec(load_msgpack()), JsonCodec()
print(json.dumps([[mp.encode(from_file(v["message"])).hex(), js.encode(from_file(v["message"])).hex()] for v in vs]))
`
const pythonHex: Array<[string, string]> = JSON.parse(execFileSync("/usr/bin/python3", ["-c", python], { cwd: root, input: JSON.stringify(vectors) }).toString())
const framed = (payload: string): string => (payload.length / 2).toString(16).padStart(8, "0") + payload
vectors.forEach((v, i) => {
  const [msgpack, json] = pythonHex[i]!
  if (framed(json) !== v.json) throw new Error(`vector ${v.name}: Python writes other JSON: ${framed(json)}`)
  if (framed(msgpack) !== v.msgpack) Object.assign(v, { msgpackPython: framed(msgpack) })
})
writeFileSync(new URL("../test/vectors/messages.json", import.meta.url), JSON.stringify(vectors, null, 2) + "\n")
console.log(`wrote ${vectors.length} vectors`)

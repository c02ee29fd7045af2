// Writes test/vectors/messages.json: one entry per message kind, with its JSON and msgpack
// frames as hex. Both test suites decode and re-encode them byte for byte (docs/protocol.md §5).
// Run: node scripts/vectors.ts
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { encodeFrame, jsonCodec, msgpackCodec } from "../src/protocol/index.ts"

const bytes = Buffer.from([0, 1, 2, 254, 255])
const messages: Array<[string, Record<string, unknown>, { jsonSafe: boolean }?]> = [
  ["hello", { kind: "hello", protocol: 1, pid: 4242, python: "3.11.7", codecs: ["msgpack", "json"] }],
  ["welcome", { kind: "welcome", codec: "msgpack" }],
  ["ready-ok", { kind: "ready", status: "ok", handlers: ["add", "echo"] }],
  ["ready-error", { kind: "ready", status: "error", type: "ModuleNotFoundError", message: "No module named 'nope'", traceback: "Traceback (most recent call last):\n  ...\n" }],
  ["call-kwargs", { kind: "call", id: 1, name: "add", args: { a: 1, b: 2 } }],
  ["call-positional", { kind: "call", id: 2, name: "add", args: [1.5, -2] }],
  ["call-full", { kind: "call", id: 4294967295, name: "tokens", args: { n: 3 }, session: "user-42", deadline: 1790000000000, stream: true, window: 64 }],
  ["call-unicode", { kind: "call", id: 7, name: "echo", args: { value: "héllo ✓ 日本 🐍", long: "x".repeat(300) } }],
  ["result-null", { kind: "result", id: 1, value: null }],
  ["result-nested", { kind: "result", id: 3, value: { list: [1, -1, 128, -129, 65536, 2 ** 40], ok: true, no: false, pi: 3.14159, s: "" } }],
  ["result-bytes", { kind: "result", id: 4, value: bytes }, { jsonSafe: false }],
  ["error", { kind: "error", id: 5, type: "ValueError", message: "boom", traceback: "Traceback (most recent call last):\nValueError: boom\n" }],
  ["chunk", { kind: "chunk", id: 6, value: [0, "a"] }],
  ["end", { kind: "end", id: 6 }],
  ["cancel", { kind: "cancel", id: 6 }],
  ["credit", { kind: "credit", id: 6, n: 32 }],
  ["ping", { kind: "ping", id: 1 }],
  ["pong", { kind: "pong", id: 1 }],
  ["host_call", { kind: "host_call", id: 9, name: "store.get", args: { key: "k" } }],
  ["host_result", { kind: "host_result", id: 9, value: { version: 2, value: "v" } }],
  ["host_error", { kind: "host_error", id: 9, type: "KeyError", message: "k" }],
  ["log", { kind: "log", level: "warning", message: "slow import" }],
  ["shutdown", { kind: "shutdown", graceMs: 5000 }]
]

const hex = (payload: Uint8Array): string => encodeFrame(payload).toString("hex")
const vectors = messages.map(([name, message, opts]) => {
  const jsonSafe = opts?.jsonSafe ?? true
  // Bytes are written as {"$bytes": hex} in the file; the tests turn them back.
  const file = JSON.parse(JSON.stringify(message, (_k, v) =>
    v && v.type === "Buffer" && Array.isArray(v.data) ? { $bytes: Buffer.from(v.data).toString("hex") } : v))
  return {
    name,
    message: file,
    json: jsonSafe ? hex(jsonCodec.encode(message)) : null,
    msgpack: hex(msgpackCodec.encode(message))
  }
})
// Python's msgpack writes positive integers >= 2^63 as uint64 and msgpackr writes int64: both are
// valid msgpack. Where the bytes differ, the entry also carries Python's form (needs /usr/bin/python3
// with msgpack); each suite must decode both forms and re-encode to its own.
const python = `
import json, sys, msgpack
def fix(v):
    if isinstance(v, dict):
        if set(v) == {"$bytes"}: return bytes.fromhex(v["$bytes"])
        return {k: fix(x) for k, x in v.items()}
    if isinstance(v, list): return [fix(x) for x in v]
    return v
vs = json.load(sys.stdin)
print(json.dumps([msgpack.packb(fix(v["message"]), use_bin_type=True).hex() for v in vs]))
`
const pythonHex: Array<string> = JSON.parse(execFileSync("/usr/bin/python3", ["-c", python], { input: JSON.stringify(vectors) }).toString())
vectors.forEach((v, i) => {
  const own = pythonHex[i]!
  const frame = (own.length / 2).toString(16).padStart(8, "0") + own
  if (frame !== v.msgpack) Object.assign(v, { msgpackPython: frame })
})
writeFileSync(new URL("../test/vectors/messages.json", import.meta.url), JSON.stringify(vectors, null, 2) + "\n")
console.log(`wrote ${vectors.length} vectors`)

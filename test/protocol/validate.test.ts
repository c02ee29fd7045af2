import { describe, expect, it } from "vitest"
import { parseWorkerMessage, ProtocolViolation } from "../../src/protocol/validate.ts"

describe("parseWorkerMessage", () => {
  it.each([
    { kind: "result", id: 1, value: null },
    { kind: "error", id: 1, type: "ValueError", message: "x", traceback: "" },
    { kind: "chunk", id: 1, value: 3 },
    { kind: "chunks", id: 1, values: [3, null, { a: 1 }] },
    { kind: "end", id: 1 },
    { kind: "pong", id: 0 },
    { kind: "host_call", id: 1, name: "store.get", args: { key: "k" } },
    { kind: "host_call", id: 2, name: "store.get", args: { key: "k" }, call: 7 },
    { kind: "log", level: "info", message: "m" },
    { kind: "hello", protocol: 1, pid: 1, python: "3.11", codecs: ["json"] },
    { kind: "ready", status: "ok", handlers: ["a"] },
    { kind: "ready", status: "error", type: "ImportError", message: "m", traceback: "t" }
  ])("accepts $kind", (message) => {
    expect(parseWorkerMessage(message)).toBe(message)
  })

  it.each([
    ["not a map", [1, 2], /message is not a map/],
    ["null", null, /message is not a map/],
    ["bytes", Buffer.from("x"), /message is not a map/],
    ["unknown kind", { kind: "surprise", id: 1 }, /unknown message kind/],
    ["missing id", { kind: "result", value: 1 }, /missing or invalid id/],
    ["negative id", { kind: "end", id: -1 }, /missing or invalid id/],
    ["float id", { kind: "end", id: 1.5 }, /missing or invalid id/],
    ["result without value", { kind: "result", id: 1 }, /missing field 'value'/],
    ["chunks without values", { kind: "chunks", id: 1 }, /field 'values' must be a non-empty array/],
    ["chunks with a map for values", { kind: "chunks", id: 1, values: { 0: 1 } }, /field 'values' must be a non-empty array/],
    ["chunks with no values", { kind: "chunks", id: 1, values: [] }, /field 'values' must be a non-empty array/],
    ["chunks without id", { kind: "chunks", values: [1] }, /missing or invalid id/],
    ["host call for a non-integer call", { kind: "host_call", id: 1, name: "x", call: "7" }, /field 'call' must be an integer/],
    ["error without traceback", { kind: "error", id: 1, type: "E", message: "m" }, /traceback/],
    ["bad log level", { kind: "log", level: "loud", message: "m" }, /invalid log level/],
    ["bad ready status", { kind: "ready", status: "maybe" }, /status/],
    ["handlers not strings", { kind: "ready", status: "ok", handlers: [1] }, /handlers/]
  ])("rejects %s", (_name, raw, why) => {
    expect(() => parseWorkerMessage(raw)).toThrow(ProtocolViolation)
    expect(() => parseWorkerMessage(raw)).toThrow(why)
  })
})

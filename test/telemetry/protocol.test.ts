import { describe, expect, it } from "vitest"
import { parseWorkerMessage, ProtocolViolation } from "../../src/protocol/index.ts"

const span = { id: 1, parent: 0, name: "step", start: 1_700_000_000_000.5, end: 1_700_000_000_001.25 }

describe("the spans field of a final frame", () => {
  it("is optional on result, error and end, and accepted in full", () => {
    const full = { ...span, attributes: { n: 1 }, status: "error", message: "ValueError: x", events: [{ name: "e", time: 1, attributes: { a: "b" } }] }
    for (const m of [
      { kind: "result", id: 1, value: null, spans: [span, { ...full, id: 2, parent: 1 }] },
      { kind: "error", id: 1, type: "ValueError", message: "x", traceback: "", spans: [full] },
      { kind: "end", id: 1, spans: [] },
      { kind: "result", id: 1, value: null }
    ]) expect(parseWorkerMessage(m)).toBe(m)
  })

  it.each([
    ["not an array", { a: 1 }],
    ["an id of 0", [{ ...span, id: 0 }]],
    ["a negative parent", [{ ...span, parent: -1 }]],
    ["no name", [{ ...span, name: undefined }]],
    ["a non-finite end", [{ ...span, end: Number.NaN }]],
    ["an unknown status", [{ ...span, status: "maybe" }]],
    ["attributes that are a list", [{ ...span, attributes: [1] }]],
    ["an event without time", [{ ...span, events: [{ name: "e" }] }]]
  ])("refuses %s", (_, spans) => {
    expect(() => parseWorkerMessage({ kind: "result", id: 1, value: 1, spans })).toThrow(ProtocolViolation)
    expect(() => parseWorkerMessage({ kind: "end", id: 1, spans })).toThrow(/field 'spans' must be an array of spans/)
  })
})

// Golden tests: Python fixture modules using every annotation form → the committed .d.ts, on both
// interpreters; and the renderer's edge cases on hand-written descriptions.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { renderTypes } from "../../src/types/render.ts"
import { describeModules } from "../../src/types/run-describe.ts"
import type { Description, HandlerRecord } from "../../src/types/description.ts"
import { FIXTURES, INTERPRETERS } from "../helpers.ts"

const TYPED = `${FIXTURES}typed/`
const golden = (file: string): string => readFileSync(`${TYPED}${file}`, "utf8")

describe.each(INTERPRETERS)("pyvisor types on $python", ({ python }) => {
  it("maps every annotation form of typed_modern.py (PEP 585/604, postponed) to the golden .d.ts", async () => {
    const d = await describeModules({ module: ["typed_modern"], cwd: TYPED, python })
    expect(renderTypes(d)).toBe(golden("typed_modern.d.ts"))
  })

  it("gives the same .d.ts for the Python 3.9 typing forms of typed_legacy.py (List, Dict, Tuple, Optional, Union)", async () => {
    const d = await describeModules({ module: ["typed_legacy"], cwd: TYPED, python })
    expect(renderTypes(d)).toBe(golden("typed_modern.d.ts").replaceAll("typed_modern", "typed_legacy"))
  })

  it("rejects with the Python traceback when the module cannot be imported", async () => {
    await expect(describeModules({ module: ["import_error"], cwd: FIXTURES, python })).rejects.toThrow(/could not describe import_error:[\s\S]*Error/)
  })
})

describe("pyvisor types and numpy (python3 has numpy)", () => {
  it("maps NDArray[dtype] to the typed array of the dtype, and NdArray by shape", async () => {
    const d = await describeModules({ module: ["typed_numpy"], cwd: TYPED, python: "python3" })
    expect(renderTypes(d)).toBe(golden("typed_numpy.d.ts.golden"))
  })
})

const handler = (h: Partial<HandlerRecord> & { name: string }): HandlerRecord => ({
  doc: null, stream: false, async: false, params: [], result: { t: "any" }, yields: { t: "any" }, ...h
})
const only = (h: HandlerRecord, extra: Partial<Description> = {}): string =>
  renderTypes({ modules: ["m"], handlers: [h], programs: [], types: [], ...extra })

describe("renderTypes", () => {
  it("has no positional form when a keyword-only parameter is required, and no object form when a positional-only one is", () => {
    const text = only(handler({
      name: "f",
      params: [{ name: "a", kind: "positional", type: { t: "int" }, optional: false }, { name: "k", kind: "keyword", type: { t: "str" }, optional: false }]
    }))
    expect(text).toContain("    args: never\n    positional: never\n")
  })

  it("admits every named parameter's type in a **kwargs index signature", () => {
    const text = only(handler({
      name: "f",
      params: [{ name: "a", kind: "both", type: { t: "str" }, optional: true }, { name: "kw", kind: "kwargs", type: { t: "int" }, optional: false }]
    }))
    expect(text).toContain("    args: { a?: string; [key: string]: number | string }\n")
  })

  it("accepts anything for a handler without a readable signature", () => {
    expect(only(handler({ name: "f", params: null }))).toContain("    args: Record<string, unknown>\n    positional: unknown[]\n")
  })

  it("quotes keys that are not identifiers, and keeps comments and docstrings closed", () => {
    const text = only(handler({
      name: "odd-name",
      doc: "Line one.\n\nEnds a comment: */ here.",
      params: [{ name: "x", kind: "both", type: { t: "object", fields: [{ name: "a b", type: { t: "unknown", note: "bad */ note" }, optional: false }] }, optional: false }]
    }))
    expect(text).toContain([
      "  /**", "   * Line one.", "   *", "   * Ends a comment: * / here.", "   */", '  "odd-name": {',
      '    args: { x: { "a b": unknown /* bad * / note */ } }'
    ].join("\n"))
  })

  it("imports NdArray and NdData from pyvisor only when they are used", () => {
    expect(only(handler({ name: "f", result: { t: "array", dtype: "float64", ndim: 1 } }))).not.toContain("import")
    const nd = only(handler({ name: "f", result: { t: "array", dtype: null, ndim: 2 } }))
    expect(nd).toContain('import type { NdArray } from "pyvisor"\n')
    expect(nd).toContain("    result: NdArray\n")
    const flat = only(handler({ name: "f", result: { t: "array", dtype: null, ndim: 1 } }))
    expect(flat).toContain('import type { NdData } from "pyvisor"\n')
    expect(flat).toContain("    result: NdData\n")
  })
})

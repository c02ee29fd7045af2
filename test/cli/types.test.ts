// `pyvisor types`: printing, -o, --check (the CI drift check), and its errors, on a real interpreter.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { FIXTURES } from "../helpers.ts"
import { cli, runMain } from "./helpers.ts"

const TYPED = `${FIXTURES}typed`
const GOLDEN = join(TYPED, "typed_modern.d.ts")
const tmp = mkdtempSync(join(tmpdir(), "pyvisor-types-"))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe("pyvisor types", () => {
  it("prints the .d.ts of the module's handlers on stdout", async () => {
    const r = await cli("types", "--module", "typed_modern", "--cwd", TYPED)
    expect(r).toEqual({ code: 0, out: readFileSync(GOLDEN, "utf8"), err: "" })
  })

  it("keeps what the module prints at import off stdout", async () => {
    const r = await cli("types", "--module", "typed_noisy", "--cwd", TYPED, "--python", "/usr/bin/python3")
    expect(r.code).toBe(0)
    expect(r.out).not.toContain("noise")
    expect(r.out).toContain("  shout: {\n    args: { text: string }\n")
  })

  it("writes the file given with -o, creating its folder", async () => {
    const out = join(tmp, "deep", "py-handlers.d.ts")
    const r = await cli("types", "--module", "typed_modern", "--cwd", TYPED, "-o", out)
    expect(r).toEqual({ code: 0, out: "", err: `pyvisor types: wrote ${out}\n` })
    expect(readFileSync(out, "utf8")).toBe(readFileSync(GOLDEN, "utf8"))
  })

  it("--check exits 0 when the committed file matches", async () => {
    const r = await cli("types", "--module", "typed_modern", "--cwd", TYPED, "-o", GOLDEN, "--check")
    expect(r).toEqual({ code: 0, out: "", err: `pyvisor types: ${GOLDEN} is up to date\n` })
  })

  it("--check exits 1 and shows the first difference when the file drifted, without touching it", async () => {
    const stale = join(tmp, "stale.d.ts")
    const drifted = readFileSync(GOLDEN, "utf8").replace("    args: { a: number; b?: number }", "    args: { a: number; c?: number }")
    writeFileSync(stale, drifted)
    const r = await cli("types", "--module", "typed_modern", "--cwd", TYPED, "-o", stale, "--check")
    expect(r.code).toBe(1)
    expect(r.out).toBe("")
    expect(r.err).toContain(`pyvisor types: ${stale} differs from what typed_modern says`)
    expect(r.err).toContain("committed:     args: { a: number; c?: number }\n  generated:     args: { a: number; b?: number }")
    expect(readFileSync(stale, "utf8")).toBe(drifted)
  })

  it("--check exits 1 when the file does not exist", async () => {
    const r = await cli("types", "--module", "typed_modern", "--cwd", TYPED, "-o", join(tmp, "missing.d.ts"), "--check")
    expect(r.code).toBe(1)
    expect(r.err).toContain("missing.d.ts does not exist")
  })

  it("refuses --check without -o, and a missing --module (exit 2)", async () => {
    expect(await cli("types", "--module", "typed_modern", "--check")).toMatchObject({ code: 2, err: "error: --check needs -o <file>: the committed .d.ts to compare with\n" })
    expect(await cli("types")).toMatchObject({ code: 2, err: expect.stringContaining("required option '--module <module>' not specified") })
    expect(await cli("types", "--module", "m", "-o", "")).toMatchObject({ code: 2, err: expect.stringContaining("argument '' is invalid. must not be empty.") })
  })

  it("exits 1 with the traceback when the module cannot be imported", async () => {
    const r = await cli("types", "--module", "import_error", "--cwd", FIXTURES)
    expect(r.code).toBe(1)
    expect(r.err).toContain("pyvisor types failed: could not describe import_error:")
    expect(r.err).toContain("ImportError: this fixture cannot be imported on purpose")
  })

  it("exits 1 when the interpreter does not exist", async () => {
    const r = await cli("types", "--module", "typed_modern", "--cwd", TYPED, "--python", "/nonexistent/python3")
    expect(r.code).toBe(1)
    expect(r.err).toContain("pyvisor types failed: could not describe typed_modern:")
  })

  it("is listed in the help", async () => {
    const r = await cli("--help")
    expect(r.out).toMatch(/types \[options\] +write the TypeScript types of a Python module's/)
  })

  it("as an executable, --check's exit status is what CI sees", async () => {
    expect((await runMain("types", "--module", "typed_modern", "--cwd", TYPED, "-o", GOLDEN, "--check")).code).toBe(0)
    const stale = join(tmp, "stale-exec.d.ts")
    writeFileSync(stale, "// old\n")
    expect((await runMain("types", "--module", "typed_modern", "--cwd", TYPED, "-o", stale, "--check")).code).toBe(1)
  })
})

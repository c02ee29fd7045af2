// The Node version guard: the pure comparison, and the real entry points on the system Node.
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { delimiter, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MINIMUM_NODE, nodeVersionAtLeast, nodeVersionError } from "../src/node-version.ts"

const ROOT = fileURLToPath(new URL("../", import.meta.url))

describe("nodeVersionAtLeast", () => {
  it.each([
    ["22.19.0", true],
    ["v22.19.0", true],
    ["22.19.1", true],
    ["22.20.0", true],
    ["23.0.0", true],
    ["24.21.0", true],
    ["100.0.0", true],
    ["22.19.0-nightly20250101", true],
    ["22.18.9", false],
    ["22.0.0", false],
    ["22", false],
    ["21.99.99", false],
    ["20.20.2", false],
    ["v20.19.5", false],
    ["18.0.0", false]
  ])("%s against the minimum: %s", (version, expected) => {
    expect(nodeVersionAtLeast(version)).toBe(expected)
  })

  it("compares numerically, part by part, against any minimum", () => {
    expect(nodeVersionAtLeast("1.10.0", "1.9")).toBe(true)
    expect(nodeVersionAtLeast("1.9.0", "1.10")).toBe(false)
    expect(nodeVersionAtLeast("2.0.0", "1.99.99")).toBe(true)
    expect(nodeVersionAtLeast("1.2.3", "1.2.4")).toBe(false)
    expect(nodeVersionAtLeast("1.2.4", "1.2.4")).toBe(true)
  })

  it("rejects what is not a version", () => {
    expect(() => nodeVersionAtLeast("latest")).toThrow(/not a version/)
  })

  it("uses the minimum that package.json's engines declares", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }
    expect(pkg.engines.node).toBe(`>=${MINIMUM_NODE}`)
  })
})

describe("nodeVersionError", () => {
  it("names the minimum and the running version", () => {
    expect(nodeVersionError("20.20.2")).toBe("pyvisor needs Node ≥ 22.19, this is 20.20.2")
    expect(nodeVersionError("v22.18.0")).toBe("pyvisor needs Node ≥ 22.19, this is 22.18.0")
  })

  it("is undefined on a Node that is new enough", () => {
    expect(nodeVersionError("22.19.0")).toBeUndefined()
    expect(nodeVersionError(process.versions.node)).toBeUndefined()
  })
})

// The system `node` (not the pinned Node 24 that `npm run` puts first on PATH) imports the
// library as built by tsc: both entry points, everything they import, in the real order. On
// Node < 22.19 the guard must fail first, before execa dies of a missing Set.prototype.union.
describe("importing the built entry points", () => {
  const env = { ...process.env, PATH: (process.env["PATH"] ?? "").split(delimiter).filter((dir) => !dir.includes("node_modules")).join(delimiter) }
  const systemNode = (args: ReadonlyArray<string>) =>
    spawnSync("/usr/bin/env", ["node", ...args], { env, encoding: "utf8", timeout: 60_000 })
  const systemVersion = systemNode(["-p", "process.versions.node"]).stdout.trim()
  let out = ""
  const importScript = (entry: string): string => `await import(${JSON.stringify(pathToFileURL(join(out, entry)).href)})`

  beforeAll(() => {
    // Inside node_modules so that the build's bare imports (execa, effect, ...) resolve.
    mkdirSync(join(ROOT, "node_modules", ".cache"), { recursive: true })
    out = mkdtempSync(join(ROOT, "node_modules", ".cache", "pyvisor-node-version-"))
    execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json"),
      "--outDir", out, "--noCheck", "--declaration", "false", "--sourceMap", "false"], { cwd: ROOT, stdio: "pipe" })
  }, 120_000)

  afterAll(() => {
    if (out !== "") rmSync(out, { recursive: true, force: true })
  })

  it("finds a system node", () => {
    expect(systemVersion).toMatch(/^\d+\.\d+\.\d+/)
  })

  for (const entry of ["index.js", "effect/index.js"]) {
    it(`${entry}: the system node either imports it or fails with the guard's message`, () => {
      const result = systemNode(["--input-type=module", "-e", importScript(entry)])
      if (nodeVersionAtLeast(systemVersion)) {
        expect(result.stderr).toBe("")
        expect(result.status).toBe(0)
      } else {
        expect(result.stderr).toContain(`Error: pyvisor needs Node ≥ 22.19, this is ${systemVersion}`)
        expect(result.stderr).not.toContain("TEXT_ENCODINGS")
        expect(result.status).toBe(1)
      }
    })

    it(`${entry}: the same build imports on this Node (${process.version})`, () => {
      const result = spawnSync(process.execPath, ["--input-type=module", "-e", importScript(entry)], { encoding: "utf8", timeout: 60_000 })
      expect(result.stderr).toBe("")
      expect(result.status).toBe(0)
    })
  }
})

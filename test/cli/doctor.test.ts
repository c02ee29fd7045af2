// `pyvisor doctor` on fixtures, as a user runs it (a child process with a known environment), against
// golden outputs in test/fixtures/doctor/golden with what varies (times, versions, paths) normalised.
// UPDATE_GOLDEN=1 rewrites them.
import { execFile } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { resolvePython } from "../../src/actors/resolve-python.ts"
import { forkServerCheck, modulesIn, nodeCheck } from "../../src/cli/doctor-checks.ts"
import { renderText, reportOf } from "../../src/cli/doctor-report.ts"
import { FIXTURES, PRE_SAFEPATH_INTERPRETERS } from "../helpers.ts"
import { MAIN } from "./helpers.ts"

const DOCTOR = join(FIXTURES, "doctor")
const GOLDEN = join(DOCTOR, "golden")

// Names only reach the report: a fixed environment keeps them stable; SECRET_TOKEN must be withheld.
const ENV = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/root", LANG: "C.UTF-8", SECRET_TOKEN: "hunter2" }

const doctor = (...args: Array<string>): Promise<{ code: number; out: string; err: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [MAIN, "doctor", ...args], { env: ENV, cwd: DOCTOR }, (error, out, err) =>
      resolve({ code: error === null ? 0 : Number((error as { code?: unknown }).code), out, err }))
  })

/** What differs between machines and runs, replaced by placeholders. */
const normalise = async (text: string): Promise<string> => {
  const shimmed = (await resolvePython({ module: ["x"], python: "python3" })).executable
  return text
    .replaceAll(DOCTOR, "<fixtures>")
    .replaceAll(shimmed, "<python3>")
    .replace(/\b(Node|Python|msgpack|numpy) \d+\.\d+(\.\d+)?\b/g, "$1 <version>")
    .replace(/"(version|msgpack|numpy)": "\d+\.\d+(\.\d+)?"/g, "\"$1\": \"<version>\"")
    .replace(/\b\d+ ms\b/g, "<n> ms")
    .replace(/"(startMs|shimStartMs|importMs|runtimeMs)": [\d.e+-]+/g, "\"$1\": <n>")
}

const golden = async (name: string, text: string): Promise<void> => {
  const file = join(GOLDEN, name)
  const actual = await normalise(text)
  if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(file, actual)
  expect(actual).toBe(readFileSync(file, "utf8"))
}

describe("pyvisor doctor (golden outputs)", () => {
  it.each([
    ["a healthy module on an interpreter with msgpack: exit 0", ["--module", "doctor_ok", "--cwd", "ok", "--python", "/usr/bin/python3"], 0, "ok.txt"],
    ["python3 without msgpack, through pyenv's shim: the JSON fallback and its cost, a warning only", ["--module", "doctor_ok", "--cwd", "ok"], 0, "no-msgpack.txt"],
    ["files shadowing the standard library warn, whether the runtime imports them (platform.py) or not (statistics.py)", ["--module", "doctor_shadowed", "--cwd", "shadow", "--python", "/usr/bin/python3"], 0, "shadow.txt"],
    ["before 3.11, a file shadowing what `python -m` imports before the runtime (runpy.py) blocks", ["--module", "doctor_shadowed", "--cwd", "shadow-early", "--python", PRE_SAFEPATH_INTERPRETERS[1]!], 1, "shadow-early.txt"],
    ["a missing module blocks, with Python's error", ["--module", "no_such_module", "--cwd", "ok", "--python", "/usr/bin/python3"], 1, "missing-module.txt"],
    ["a slow import warns that every worker start pays it", ["--module", "doctor_slow", "--cwd", "slow", "--python", "/usr/bin/python3"], 0, "slow.txt"],
    ["an interpreter that is not there blocks", ["--python", "python9.99", "--cwd", "ok"], 1, "no-python.txt"]
  ] as const)("%s", async (_, args, code, file) => {
    const r = await doctor(...args)
    expect(r.code).toBe(code)
    expect(r.out).not.toContain("SECRET_TOKEN")
    await golden(file, r.out)
  })

  it("--json, with an unreachable Redis: blocks", async () => {
    const r = await doctor("--module", "doctor_ok", "--cwd", "ok", "--python", "/usr/bin/python3", "--redis", "redis://127.0.0.1:1", "--json")
    expect(r.code).toBe(1)
    const report = JSON.parse(r.out) as { ok: boolean; checks: Array<{ id: string; status: string }> }
    expect(report.ok).toBe(false)
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ["node", "ok"], ["python", "ok"], ["codec", "ok"], ["numpy", "info"], ["module", "ok"], ["shadowing", "ok"], ["env", "info"],
      ["fork-server", "ok"], ["redis", "fail"]
    ])
    await golden("redis-unreachable.json", r.out)
  })

  it("a reachable Redis (the test machine's, on 6379) is ok", async () => {
    const r = await doctor("--python", "/usr/bin/python3", "--cwd", "ok", "--redis", "redis://127.0.0.1:6379", "--json")
    expect(r.code).toBe(0)
    const redis = (JSON.parse(r.out) as { checks: Array<{ id: string; status: string; data: unknown }> }).checks.find((c) => c.id === "redis")
    expect(redis).toMatchObject({ status: "ok", data: { url: "redis://127.0.0.1:6379", reachable: true } })
  })

  it("refuses an empty flag value (usage error, exit 2)", async () => {
    const r = await doctor("--module", "")
    expect(r.code).toBe(2)
    expect(r.err).toContain("option '--module <module>' argument '' is invalid. must not be empty.")
  })
})

describe("doctor's checks", () => {
  it("a Node older than 22.19 is a blocking problem", () => {
    const report = reportOf([nodeCheck("22.18.0"), forkServerCheck("win32")])
    expect(report.ok).toBe(false)
    expect(renderText(report)).toBe([
      "pyvisor doctor",
      "",
      "FAIL  node         Node 22.18.0: pyvisor needs ≥ 22.19",
      "info  fork-server  not available on win32: every worker start spawns an interpreter",
      "",
      "1 blocking problem, 0 warnings.",
      ""
    ].join("\n"))
    expect(reportOf([nodeCheck("22.19.0")]).ok).toBe(true)
  })

  it("finds modules and packages in a directory, not other files", () => {
    expect(modulesIn(join(DOCTOR, "shadow"))).toEqual(["doctor_shadowed", "platform", "statistics"])
    expect(modulesIn(join(DOCTOR, "nowhere"))).toEqual([])
    expect(modulesIn(FIXTURES)).not.toContain("doctor") // a directory without __init__.py
  })
})

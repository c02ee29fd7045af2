import { spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { poolMachine, toMermaid, workerMachine } from "../../src/machines/index.ts"
import { FIXTURES } from "../helpers.ts"
import { descendants, parseXml } from "../machines/xml.ts"
import { cli, MAIN, runMain } from "./helpers.ts"

describe("pyvisor diagram", () => {
  it("prints the worker machine as Mermaid by default", async () => {
    const r = await cli("diagram")
    expect(r).toEqual({ code: 0, out: toMermaid(workerMachine), err: "" })
  })

  it("prints the pool machine as Stately JSON", async () => {
    const r = await cli("diagram", "pool", "--format", "json")
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual(JSON.parse(JSON.stringify(poolMachine.toJSON())))
  })

  it("prints a well-formed SVG with every state", async () => {
    const r = await cli("diagram", "pool", "--format=svg")
    expect(r.code).toBe(0)
    const states = descendants(parseXml(r.out)).filter((e) => e.attributes["data-state"] !== undefined).map((e) => e.attributes["data-state"])
    expect(states).toEqual(["starting", "ready", "degraded", "draining", "closed", "failed"])
  })

  it("refuses an unknown machine, naming it and the choices (exit 2)", async () => {
    const r = await cli("diagram", "pol")
    expect(r.code).toBe(2)
    expect(r.out).toBe("")
    expect(r.err).toContain("'pol' is invalid for argument 'machine'. Allowed choices are worker, pool.")
  })

  it("refuses an unknown format, naming it and the choices (exit 2)", async () => {
    const r = await cli("diagram", "worker", "--format", "png")
    expect(r.code).toBe(2)
    expect(r.err).toContain("option '--format <format>' argument 'png' is invalid. Allowed choices are mermaid, json, svg.")
  })
})

describe("pyvisor demo flags", () => {
  it.each([
    [["demo", "--workers", "0"], "option '--workers <n>' argument '0' is invalid. must be an integer from 1 to 64."],
    [["demo", "--calls=1e3"], "option '--calls <n>' argument '1e3' is invalid. must be an integer from 1 to 100000."],
    [["demo", "--python", ""], "option '--python <path>' argument '' is invalid. must not be empty."],
    [["demo", "--workerz", "3"], "unknown option '--workerz'"],
    [["demo", "--workers"], "option '--workers <n>' argument missing"],
    [["demo", "extra"], "too many arguments for 'demo'"],
    [["frob"], "unknown command 'frob'"]
  ])("%j is a usage error (exit 2)", async (args, message) => {
    const r = await cli(...args)
    expect(r.code).toBe(2)
    expect(r.err).toContain(message)
  })

  it("prints help with every command (exit 0)", async () => {
    const r = await cli("--help")
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/demo \[options\]/)
    expect(r.out).toMatch(/diagram \[options\] \[machine\]/)
  })
})

describe("the pyvisor executable", () => {
  it("exits 0 with the diagram on stdout", async () => {
    const r = await runMain("diagram", "pool")
    expect(r).toEqual({ code: 0, stdout: toMermaid(poolMachine), stderr: "" })
  })

  it("exits 2 on a usage error, with the message on stderr", async () => {
    const r = await runMain("diagram", "--format", "gif")
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("argument 'gif' is invalid. Allowed choices are mermaid, json, svg.")
  })

  it("runs the demo end to end on a real pool", async () => {
    const r = await runMain("demo", "--workers", "2", "--calls", "40")
    expect(r.stderr).toBe("")
    expect(r.stdout).toContain("pool ready: 2 workers")
    expect(r.stdout).toContain("ok: every error above was intentional")
    expect(r.code).toBe(0)
  })
})

describe("pyvisor dashboard", () => {
  it("refuses to start without --module, or with a bad port (exit 2)", async () => {
    expect(await cli("dashboard")).toMatchObject({ code: 2, err: expect.stringContaining("required option '--module <module>' not specified") })
    expect(await cli("dashboard", "--module", "m", "--port", "70000")).toMatchObject({ code: 2, err: expect.stringContaining("option '--port <n>' argument '70000' is invalid. must be an integer from 0 to 65535.") })
    expect(await cli("dashboard", "--module", "m", "--size", "0")).toMatchObject({ code: 2, err: expect.stringContaining("option '--size <n>' argument '0' is invalid") })
  })

  it("starts a pool and its dashboard, prints the URL, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [MAIN, "dashboard", "--module", "basic", "--cwd", FIXTURES, "--size", "2", "--port", "0", "--controls"], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    try {
      await expect.poll(() => stdout, { timeout: 60_000 }).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\n/)
      const url = stdout.trim()
      expect(stderr).toContain("pyvisor dashboard: 2 workers of basic, controls on")
      const state = await (await fetch(new URL("state", url))).json() as { workers: Array<{ id: string; state: string }>; controls: boolean }
      expect(state.workers.map((w) => [w.id, w.state])).toEqual([["w1", "ready"], ["w2", "ready"]])
      expect(state.controls).toBe(true)
      expect((await fetch(new URL("workers/w1/recycle", url), { method: "POST" })).status).toBe(200)
    } finally {
      child.kill("SIGTERM")
    }
    expect(await exited).toBe(0)
  })
})

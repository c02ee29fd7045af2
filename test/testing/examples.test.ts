// Every example of pyvisor/testing's JSDoc and of docs/testing.md, run (and so type-checked). The
// last test checks that each line of each example appears here, so the two cannot drift apart.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { readFileSync } from "node:fs"
import { CallTimeoutError, createPool } from "../../src/index.ts"
import { acquirePool } from "../../src/effect/index.ts"
import { fakeWorker } from "../../src/testing/index.ts"
import type { FakeHandler, FakeWorkerOptions, ProcessExit, ProcessSpawner, ProcessSpec, SpawnedProcess } from "../../src/testing/index.ts"

describe("JSDoc examples of pyvisor/testing", () => {
  it("the module: a pool of fake workers", async () => {
    const pool = await createPool({ worker: { module: "app" }, size: 1, spawner: fakeWorker({ handlers: { add: ({ a, b }) => a + b } }) })
    await pool.call("add", { a: 1, b: 2 }) // 3
    expect(await pool.call("add", { a: 1, b: 2 })).toBe(3)
    await pool.close()
  })

  it("fakeWorker", async () => {
    const pool = await createPool({
      worker: { module: "app.workers" },
      size: 2,
      spawner: fakeWorker({ handlers: { add: ({ a, b }) => a + b }, crashAfter: 100 })
    })
    await pool.call("add", { a: 1, b: 2 }) // 3
    expect(await pool.call("add", { a: 1, b: 2 })).toBe(3)
    await pool.close()
  })

  it("FakeWorkerOptions", () => {
    const options: FakeWorkerOptions = { handlers: { add: ({ a, b }) => a + b }, hangOn: ["stuck"], initDelayMs: 100 }
    expect(() => fakeWorker(options)).not.toThrow()
  })

  it("FakeSpawner", async () => {
    const fake = fakeWorker({ handlers: { ping: () => "pong" } })
    const pool = await createPool({ worker: { module: "fake" }, size: 2, spawner: fake })
    await pool.close()
    const left = fake.alive.length // 0: nothing outlives the pool
    expect(left).toBe(0)
    expect(fake.processes.length).toBe(2)
  })

  it("FakeProcess", async () => {
    const fake = fakeWorker({ handlers: { add: ({ a, b }) => a + b } })
    const pool = await createPool({ worker: { module: "fake" }, size: 1, spawner: fake })
    fake.alive[0]?.crash() // the worker dies now; the pool restarts it
    await pool.call("add", { a: 1, b: 2 }, { idempotent: true }) // 3: sent before the pool saw the crash, it is retried
    expect(fake.processes).toHaveLength(2)
    expect(fake.processes[0]!.exit).toEqual({ code: 1, signal: null })
    await pool.close()
  })

  it("FakeHandler", async () => {
    const handlers: Record<string, FakeHandler> = {
      add: ({ a, b }) => a + b,
      boom: () => { throw Object.assign(new Error("no"), { type: "ValueError" }) },
      tokens: function*({ n }) { for (let i = 0; i < n; i++) yield i }
    }
    const pool = await createPool({ worker: { module: "fake" }, size: 1, spawner: fakeWorker({ handlers }) })
    expect(await pool.call("add", { a: 1, b: 2 })).toBe(3)
    await expect(pool.call("boom")).rejects.toMatchObject({ type: "ValueError" })
    expect(await pool.call("tokens", { n: 3 })).toEqual([0, 1, 2])
    await pool.close()
  })

  it("FakeCallContext", async () => {
    const slow: FakeHandler = async (_args, ctx) => {
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))
      return ctx.cancelled // never seen by the caller: a cancelled call is answered `pyvisor.Cancelled`
    }
    const pool = await createPool({ worker: { module: "fake" }, size: 1, spawner: fakeWorker({ handlers: { slow } }) })
    await expect(pool.call("slow", {}, { timeoutMs: 10 })).rejects.toBeInstanceOf(CallTimeoutError)
    await pool.close()
  })

  it("ProcessSpawner and SpawnContext", async () => {
    const fake = fakeWorker({ handlers: {} })
    const started: Array<string> = []
    const console = { log: (line: string) => started.push(line) }
    const logged: ProcessSpawner = (spec, context) => {
      console.log(`starting ${context.workerId}`)
      return fake(spec, context)
    }
    const pool = await createPool({ worker: { module: "app" }, size: 1, spawner: logged })
    expect(started).toEqual(["starting w1"])
    await pool.close()
    {
      const pool = await createPool({ worker: { module: "app" }, size: 1, spawner: fakeWorker({ handlers: { add: ({ a, b }) => a + b } }) })
      expect(await pool.call("add", { a: 2, b: 2 })).toBe(4)
      await pool.close()
    }
  })

  it("ProcessSpec, SpawnedProcess, PythonProcess, ProcessExit", async () => {
    const spec: ProcessSpec = { module: "my_workers", concurrency: 2, prefetch: 1 }
    const fake = fakeWorker({ handlers: {} })
    const pool = await createPool({ worker: { ...spec, module: spec.module as string }, size: 1, spawner: fake })
    const proc: SpawnedProcess = fake.processes[0]!
    await proc.spawnError // null: it started
    expect(await proc.spawnError).toBeNull()
    proc.kill("SIGTERM") // the runtime's ordered stop: started calls finish, queued ones are refused
    const exit: ProcessExit = await proc.exited // { code: 0, signal: null } after an ordered stop
    expect(exit).toEqual({ code: 0, signal: null })
    await pool.close()
  })
})

describe("docs/testing.md", () => {
  it("a pool of fake workers", async () => {
    const fake = fakeWorker({ handlers: { add: ({ a, b }) => a + b, fail: () => { throw Object.assign(new Error("bad input"), { type: "ValueError" }) } } })
    const pool = await createPool({ worker: { module: "app" }, size: 2, spawner: fake })
    await pool.call("add", { a: 1, b: 2 }) // 3
    await pool.call("fail").catch((error) => error.type) // "ValueError": a PythonError, as from Python
    expect(await pool.call("fail").catch((error) => error.type)).toBe("ValueError")
    await pool.close()
    const left = fake.alive.length // 0
    expect(left).toBe(0)
  })

  it.effect("a call times out after exactly 1 s of clock", () =>
    Effect.gen(function*() {
      const pool = yield* acquirePool({ worker: { module: "app" }, size: 1, spawner: fakeWorker({ handlers: { slow: () => new Promise(() => {}) } }) })
      const outcome = pool.call("slow", {}, { timeoutMs: 1_000 }).catch((error: unknown) => error)
      yield* TestClock.adjust(1_000)
      expect(yield* Effect.promise(() => outcome)).toBeInstanceOf(CallTimeoutError)
    }))

  it("idempotent calls survive crashing workers", async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer(), { maxLength: 10 }), fc.integer({ min: 1, max: 5 }), async (xs, crashAfter) => {
      // These crashes come from crashAfter, not from the arguments: without `poison: false`, a value
      // drawn twice whose calls both ran into a crash would be refused as a poison call.
      const pool = await createPool({ worker: { module: "app" }, size: 1, poison: false, spawner: fakeWorker({ handlers: { double: ({ x }) => 2 * x }, crashAfter }) })
      const doubled = await Promise.all(xs.map((x) => pool.call("double", { x }, { idempotent: true })))
      await pool.close()
      expect(doubled).toEqual(xs.map((x) => 2 * x))
    }), { numRuns: 50 })
  })
})

// --- the examples above are the ones in the sources ---------------------------------------------

const here = readFileSync(new URL(import.meta.url), "utf8")
const lines = new Set(here.split("\n").map((line) => line.trim()))

/** The ```ts blocks of a markdown text. */
const markdownBlocks = (text: string): Array<string> => [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)

/** The ```ts blocks of the JSDoc comments in front of `export`s whose name is in `names` (all when undefined). */
const jsdocBlocks = (text: string, names?: ReadonlySet<string>): Array<string> =>
  [...text.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(?:\/\/[^\n]*\n\s*)?(export [^\n]*)?/g)]
    .filter((m) => names === undefined || (m[2] !== undefined && names.has(/export (?:declare )?(?:const|class|interface|type) (\w+)/.exec(m[2])?.[1] ?? "")))
    .flatMap((m) => markdownBlocks(m[1]!.replace(/^\s*\* ?/gm, "")))

const source = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

describe("the examples here are the documented ones", () => {
  const documented: Array<[string, string]> = [
    ...["src/testing/index.ts", "src/testing/fake-worker.ts", "src/testing/fake-process.ts", "src/testing/fake-call.ts"]
      .flatMap((path) => jsdocBlocks(source(path)).map((block): [string, string] => [path, block])),
    ...jsdocBlocks(source("src/actors/python-process.ts"), new Set(["ProcessSpec", "ProcessExit", "PythonProcess", "SpawnedProcess", "SpawnContext", "ProcessSpawner"]))
      .map((block): [string, string] => ["src/actors/python-process.ts", block]),
    ...markdownBlocks(source("docs/testing.md")).map((block): [string, string] => ["docs/testing.md", block])
  ]

  it("finds the examples (one per public export, three in the guide)", () => {
    expect(documented.length).toBeGreaterThanOrEqual(16)
  })

  it("every line of every example is run above", () => {
    for (const [path, block] of documented) {
      for (const line of block.split("\n").map((l) => l.trim())) {
        if (line === "" || line.startsWith("import ")) continue
        expect(lines.has(line), `${path}: ${line}`).toBe(true)
      }
    }
  })
})

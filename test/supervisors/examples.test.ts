// Every @example of pyvisor/supervisor's public API, run and checked. The first test reads the
// JSDoc of every public export (and of the modules behind the entry) and fails unless each
// example's code appears verbatim in this file (lines compared trimmed; `import` lines aside, as
// this file imports from src), so the documentation cannot drift from code that type-checks and runs.
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Logger, Ref, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { exitReasonOf, fromEffect, fromFiber, Supervisor, SupervisorChildError, SupervisorEscalation } from "../../src/supervisors/index.ts"
import type {
  BackoffOptions,
  Child,
  ChildErrorReason,
  ChildSpec,
  ExitReason,
  IntensityOptions,
  RestartType,
  Strategy,
  SupervisorOptions
} from "../../src/supervisors/index.ts"

const { asChild, make } = Supervisor
type ChildInfo = Supervisor.ChildInfo

const SRC = new URL("../../src/supervisors/", import.meta.url)
const read = (file: string): string => readFileSync(new URL(file, SRC), "utf8")
// Import lines differ (this file imports from src) and a doc's `Effect.runPromise` line cannot run under TestClock.
const normalize = (code: string): string =>
  code.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("import ") && !line.startsWith("Effect.runPromise(")).join("\n")

/** The ```ts blocks of a JSDoc comment or a Markdown text. */
const examples = (doc: string): ReadonlyArray<string> =>
  [...doc.replace(/^[ \t]*\* ?/gm, "").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)

/** The JSDoc right above `export ... name` in `file`, following re-exports. */
const docOf = (file: string, name: string): { readonly file: string; readonly doc: string } => {
  const source = read(file)
  const declared = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*export (?:const|interface|type|class) ${name}\\b`).exec(source)
  if (declared !== null) return { file, doc: declared[1]! }
  const reexport = new RegExp(`export (?:type )?\\{[^}]*\\b${name}\\b[^}]*\\} from "\\./([\\w-]+\\.ts)"`).exec(source)
  if (reexport === null) throw new Error(`${file}: no declaration or re-export of ${name}`)
  return docOf(reexport[1]!, name)
}

/** Names exported by `file`: its declarations and its `export { … } from` lines. */
const exportedNames = (file: string): ReadonlyArray<string> => {
  const source = read(file)
  const declared = [...source.matchAll(/^export (?:const|interface|type|class) (\w+)/gm)].map((m) => m[1]!)
  const reexported = [...source.matchAll(/^export (?:type )?\{([^}]*)\} from/gm)].flatMap((m) => m[1]!.split(",").map((n) => n.trim()))
  return [...declared, ...reexported]
}

const moduleDoc = (file: string): string => /^\/\*\*([\s\S]*?)\*\//.exec(read(file))![1]!

describe("the documentation's examples", () => {
  it("all appear verbatim in this file", () => {
    const self = normalize(readFileSync(new URL(import.meta.url), "utf8"))
    // index.ts's own exports, and the Supervisor namespace (`export * as Supervisor from "./supervisor.ts"`).
    const docs = [
      ...["index.ts", "supervisor.ts", "supervisor-spec.ts", "child.ts", "errors.ts"].map((file) => ({ file, name: "@module", doc: moduleDoc(file) })),
      ...exportedNames("index.ts").map((name) => ({ name, ...docOf("index.ts", name) })),
      ...exportedNames("supervisor.ts").map((name) => ({ name, ...docOf("supervisor.ts", name) }))
    ]
    const guide = readFileSync(new URL("../../docs/supervision.md", import.meta.url), "utf8")
    const section = /\n## Using the supervisor on its own\n([\s\S]*?)\n## /.exec(guide)
    assert.isNotNull(section, "docs/supervision.md has the section")
    docs.push({ file: "docs/supervision.md", name: "Using the supervisor on its own", doc: section![1]! })
    assert.isAtLeast(docs.length, 20)
    for (const { file, name, doc } of docs) {
      const codes = examples(doc)
      assert.isNotEmpty(codes, `${file}: ${name} has no @example`)
      for (const code of codes) assert.include(self, normalize(code), `${file}: the example of ${name} is not in examples.test.ts`)
    }
  })
})

// Children used by the examples: each logs its start and stop.
const logged = (log: Array<string>, id: string, run: Effect.Effect<unknown, string> = Effect.never) =>
  Effect.gen(function*() {
    log.push(`start ${id}`)
    yield* Effect.addFinalizer(() => Effect.sync(() => log.push(`stop ${id}`)))
    return yield* fromEffect(run)
  })

describe("pyvisor/supervisor (index.ts)", () => {
  it.effect("module: an OTP-like supervisor of two Effect children gives up on the second restart within 5 s", () =>
    Effect.gen(function*() {
      let ticks = 0
      let reports = 0
      const tick = Effect.andThen(Effect.sleep("1 second"), Effect.suspend(() => (++ticks === 3 ? Effect.fail("tick failed") : Effect.void)))
      const report = Effect.suspend(() => (reports++ === 0 ? Effect.fail("no data yet") : Effect.void))

      const program = Effect.scoped(Effect.gen(function*() {
        const sup = yield* Supervisor.make({
          id: "app",
          strategy: "one_for_one",
          intensity: { maxRestarts: 1, withinMs: 5_000 },   // OTP's defaults
          backoff: false,                                     // restart at once, as OTP does
          children: [
            { id: "ticker", restart: "permanent", start: Supervisor.fromEffect(tick.pipe(Effect.forever)) },
            { id: "reporter", restart: "transient", start: Supervisor.fromEffect(report) }
          ]
        })
        return yield* sup.await   // fails with SupervisorEscalation if it gives up
      }))

      const running = yield* Effect.forkChild(Effect.flip(program))
      yield* TestClock.adjust("3 seconds")
      const error = yield* Fiber.join(running)
      // reporter: crashed at 0 s (restart 1), then done; ticker: crashed at 3 s (restart 2 within 5 s).
      assert.deepInclude(error, { supervisorId: "app", childId: "ticker", restarts: 2, withinMs: 5_000 })
      assert.deepStrictEqual([ticks, reports], [3, 2])
    }))
})

describe("docs/supervision.md: Using the supervisor on its own", () => {
  it.effect("the complete example gives up at 12 s, on the fourth loss within 10 s", () =>
    Effect.gen(function*() {
      const lines: Array<unknown> = []
      const poller = Effect.log("poll").pipe(Effect.repeat(Schedule.spaced("1 second")))
      const flaky = Effect.andThen(Effect.sleep("3 seconds"), Effect.fail("lost connection"))

      const program = Effect.scoped(Effect.gen(function*() {
        const sup = yield* Supervisor.make({
          id: "app",
          strategy: "one_for_all",
          intensity: { maxRestarts: 3, withinMs: 10_000 },
          backoff: false,
          children: [
            { id: "poller", restart: "permanent", start: Supervisor.fromEffect(poller) },
            { id: "flaky", restart: "permanent", start: Supervisor.fromEffect(flaky) }
          ]
        })
        yield* Effect.log(yield* sup.whichChildren)   // [{ id: "poller", status: "running", ... }, { id: "flaky", ... }]
        return yield* sup.await
      }))

      const logger = Logger.layer([Logger.make((options) => void lines.push(options.message))])
      const running = yield* Effect.forkChild(Effect.flip(program).pipe(Effect.provide(logger)))
      yield* TestClock.adjust("11999 millis")
      assert.isUndefined(running.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(running)
      assert.include(error.message, "supervisor app: 4 restarts within 10000 ms (max 3)")
      const children = lines[0] as ReadonlyArray<ReadonlyArray<ChildInfo>>
      assert.deepStrictEqual(children[0]!.map((c) => `${c.id}=${c.status}`), ["poller=running", "flaky=running"])
      // poller polls at once and every second, and starts over at every group restart (3, 6, 9 s).
      assert.strictEqual(lines.filter((l) => (l as ReadonlyArray<unknown>)[0] === "poll").length, 4 * 3)
    }))

  it.effect("a child that initialises in start, then runs", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const openPool = Effect.sync(() => {
        log.push("open")
        return { close: Effect.sync(() => void log.push("close")) }
      })
      const watchHealth = (_pool: { readonly close: Effect.Effect<void> }) => Effect.andThen(Effect.sleep("1 second"), Effect.fail("unhealthy"))
      const startDb = Effect.gen(function*() {
        const pool = yield* Effect.acquireRelease(openPool, (p) => p.close)   // init; released when stopped
        return yield* Supervisor.fromEffect(watchHealth(pool))                 // runs until it fails or ends
      })
      yield* make({ id: "app", backoff: false, children: [{ id: "db", restart: "permanent", start: startDb }] })
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(log, ["open", "close", "open"])
    }))
})

describe("Supervisor (supervisor.ts)", () => {
  it.effect("module and Strategy: rest_for_one, a db crash restarts api too; gives up after 10 restarts in 60 s", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      let dbCrashes = 0
      const startDb = logged(log, "db", Effect.andThen(Effect.sleep("1 second"), Effect.suspend(() => (++dbCrashes <= 11 ? Effect.fail("db lost") : Effect.never))))
      const startApi = logged(log, "api")
      const strategy: Strategy = "rest_for_one" // api depends on db: a db crash restarts both
      assert.strictEqual(strategy, "rest_for_one")

      const running = yield* Effect.forkChild(Effect.flip(Effect.scoped(Effect.gen(function*() {
        const sup = yield* Supervisor.make({
          id: "app",
          strategy: "rest_for_one",
          children: [{ id: "db", start: startDb, restart: "permanent" }, { id: "api", start: startApi, restart: "permanent" }]
        })
        yield* sup.await // fails with SupervisorEscalation when restart intensity is exceeded
      }))))
      yield* TestClock.adjust("60 seconds")
      const error = yield* Fiber.join(running)
      assert.instanceOf(error, SupervisorEscalation)
      assert.deepInclude(error, { childId: "db", restarts: 11 })
      assert.deepStrictEqual(log.slice(0, 6), ["start db", "start api", "stop db", "stop api", "start db", "start api"])
      // Giving up: the crashed db's Scope is closed first, then the others in reverse start order.
      assert.deepStrictEqual(log.slice(-2), ["stop db", "stop api"])
    }))

  it.effect("ChildSpec and the child.ts module: a ticker from an Effect", () =>
    Effect.gen(function*() {
      const ticks = yield* Ref.make(0)
      const tick = Effect.andThen(Effect.sleep("1 second"), Ref.update(ticks, (n) => n + 1))
      const spec: ChildSpec = { id: "ticker", restart: "permanent", start: fromEffect(tick.pipe(Effect.forever)) }
      const sup = yield* make({ id: "app", children: [spec] })
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* Ref.get(ticks), 3)
      assert.deepStrictEqual(yield* sup.children, ["ticker"])
      {
        const spec = { id: "ticker", restart: "permanent", start: fromEffect(tick.pipe(Effect.forever)) } as const
        assert.strictEqual(spec.restart, "permanent")
      }
    }))

  it.effect("SupervisorOptions: OTP's defaults, no backoff", () =>
    Effect.gen(function*() {
      const otpLike: SupervisorOptions = { id: "app", intensity: { maxRestarts: 1, withinMs: 5_000 }, backoff: false, children: [] }
      const sup = yield* make(otpLike)
      assert.deepStrictEqual(yield* sup.whichChildren, [])
      const options: SupervisorOptions = { id: "app", strategy: "one_for_all", children: [] }
      assert.deepStrictEqual(yield* (yield* make(options)).countChildren, { specs: 0, active: 0 })
    }))

  it.effect("Supervisor, ChildInfo and ChildCounts: terminate, inspect, restart", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const sup = yield* make({ id: "app", children: [{ id: "db", restart: "permanent", start: logged(log, "db") }, { id: "api", restart: "permanent", start: logged(log, "api") }] })
      yield* sup.terminateChild("api")   // stopped, spec kept
      yield* sup.restartChild("api")     // started again; not a crash, not counted
      assert.deepStrictEqual(log, ["start db", "start api", "stop api", "start api"])
      yield* sup.terminateChild("api")
      const down = (yield* sup.whichChildren).filter((c: ChildInfo) => c.status !== "running")
      assert.deepStrictEqual(down, [{ id: "api", restart: "permanent", status: "terminated" }])
      const { specs, active } = yield* sup.countChildren
      assert.deepStrictEqual([specs, active], [2, 1])
    }))

  it.effect("make: a supervisor that gives up", () =>
    Effect.gen(function*() {
      const startA = fromEffect(Effect.fail("a is broken"))
      const program = Effect.scoped(Effect.gen(function*() {
        const sup = yield* make({ id: "root", children: [{ id: "a", start: startA, restart: "permanent" }] })
        return yield* sup.await
      }))
      const running = yield* Effect.forkChild(Effect.flip(program))
      yield* TestClock.adjust("60 seconds")
      assert.deepInclude(yield* Fiber.join(running), { supervisorId: "root", childId: "a", restarts: 11 })
    }))

  it.effect("asChild: a nested supervisor that gives up is restarted by its parent", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const workerSpecs: ReadonlyArray<ChildSpec> = [
        { id: "w1", restart: "permanent", start: logged(log, "w1", Effect.fail("w1 crashed")) },
        { id: "w2", restart: "permanent", start: logged(log, "w2") }
      ]
      const apiSpec: ChildSpec = { id: "api", restart: "permanent", start: logged(log, "api") }

      const root = yield* make({ id: "root", children: [asChild({ id: "workers", children: workerSpecs }), apiSpec] })
      // w1 crashes at every start: "workers" gives up after 10 restarts (about 10 s of backoff)
      // and the root restarts it (one_for_one: api is left alone).
      yield* TestClock.adjust("15 seconds")
      assert.deepStrictEqual(log.slice(0, 3), ["start w1", "start w2", "start api"])
      assert.isAtLeast(log.filter((line) => line === "start w2").length, 2)
      assert.deepStrictEqual(log.filter((line) => line.endsWith(" api")), ["start api"])
      assert.deepStrictEqual(yield* root.children, ["workers", "api"])
    }))
})

describe("errors (errors.ts)", () => {
  it.effect("SupervisorEscalation, SupervisorChildError and ChildErrorReason", () =>
    Effect.gen(function*() {
      const sup = yield* make({ id: "app", intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [{ id: "db", restart: "permanent", start: fromEffect(Effect.fail("down")) }] })
      const byChild = yield* Effect.as(sup.await.pipe(Effect.catchTag("SupervisorEscalation", (e) => Effect.log(e.childId))), "logged")
      const byReason = yield* Effect.as(sup.await.pipe(Effect.catchTag("SupervisorEscalation", (e) => Effect.log(e.lastReason.reason))), "logged")
      assert.deepStrictEqual([byChild, byReason], ["logged", "logged"])
      const refused = yield* Effect.as(sup.restartChild("db").pipe(Effect.catchTag("SupervisorChildError", (e) => Effect.log(e.reason))), "refused")
      assert.strictEqual(refused, "refused")
      const error = yield* Effect.flip(sup.restartChild("db"))
      assert.instanceOf(error, SupervisorChildError)
      const explain = (reason: ChildErrorReason) => (reason === "stopped" ? "the supervisor is gone" : `refused: ${reason}`)
      assert.strictEqual(explain(error.reason), "the supervisor is gone")
    }))
})

describe("children (child.ts, slot.ts)", () => {
  it("exitReasonOf", () => {
    const done = exitReasonOf(Exit.succeed(1))     // { normal: true, reason: "normal" }
    const failed = exitReasonOf(Exit.fail("boom"))  // { normal: false, reason: "Error: boom", cause: "boom" }
    assert.deepStrictEqual(done, { normal: true, reason: "normal" })
    assert.deepStrictEqual(failed, { normal: false, reason: "Error: boom", cause: "boom" })
    assert.deepStrictEqual(exitReasonOf(Exit.interrupt(1)), { normal: false, reason: "interrupted" })
  })

  it.effect("fromFiber: stopping the child interrupts the fiber", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const serve = Effect.andThen(Effect.sync(() => void log.push("serving")), Effect.never).pipe(Effect.onInterrupt(() => Effect.sync(() => void log.push("interrupted"))))
      const start = Effect.gen(function*() {
        const fiber = yield* Effect.forkDetach(serve)
        return yield* fromFiber(fiber)
      })
      const sup = yield* make({ id: "app", children: [{ id: "server", restart: "permanent", start }] })
      yield* Effect.repeat(Effect.yieldNow, { times: 5 })
      yield* sup.terminateChild("server")
      assert.deepStrictEqual(log, ["serving", "interrupted"])
      assert.deepStrictEqual(yield* sup.children, [])
    }))

  it.effect("fromEffect: init first, then the connection is served until it ends; stop releases it", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      interface Conn { readonly close: Effect.Effect<void> }
      const connect = Effect.sync((): Conn => {
        log.push("connect")
        return { close: Effect.sync(() => void log.push("close")) }
      })
      const serve = (_conn: Conn) => Effect.andThen(Effect.sleep("1 second"), Effect.sync(() => void log.push("served")))
      const start = Effect.gen(function*() {
        const conn = yield* Effect.acquireRelease(connect, (c) => c.close)  // init: the next child waits
        return yield* fromEffect(serve(conn))                               // then runs until it ends
      })
      const sup = yield* make({ id: "app", backoff: false, children: [{ id: "conn", restart: "transient", start }] })
      yield* TestClock.adjust("1 second")
      // It ended normally: a transient child is not restarted, and its Scope was closed.
      assert.deepStrictEqual(log, ["connect", "served", "close"])
      assert.deepStrictEqual(yield* sup.whichChildren, [{ id: "conn", restart: "transient", status: "terminated" }])
    }))

  it.effect("Child, RestartType and ExitReason: a hand-written transient child, crashed then done", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const servers: Array<Deferred.Deferred<ExitReason>> = []
      const port = 8080
      const listen = (_port: number) =>
        Effect.map(Deferred.make<ExitReason>(), (closed) => {
          servers.push(closed)
          return { close: Effect.sync(() => void log.push("close")), closed: Deferred.await(closed) }
        })
      const start = Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(listen(port), (s) => s.close)   // stopped by closing its Scope
        return { exit: server.closed } satisfies Child                               // Effect<ExitReason>
      })
      const restart: RestartType = "transient" // a job: restarted if it crashes, done once it succeeds
      const done: ExitReason = { normal: true, reason: "normal" }
      const crashed: ExitReason = { normal: false, reason: "connection lost", cause: new Error("ECONNRESET") }

      const sup = yield* make({ id: "app", backoff: false, children: [{ id: "server", restart, start }] })
      yield* Deferred.succeed(servers[0]!, crashed)
      yield* Effect.repeat(Effect.yieldNow, { times: 20 })
      assert.strictEqual(servers.length, 2, "restarted after the crash")
      yield* Deferred.succeed(servers[1]!, done)
      yield* Effect.repeat(Effect.yieldNow, { times: 20 })
      assert.strictEqual(servers.length, 2, "not restarted after the normal exit")
      assert.deepStrictEqual(log, ["close", "close"])
      assert.deepStrictEqual(yield* sup.whichChildren, [{ id: "server", restart: "transient", status: "terminated" }])
    }))
})

describe("options (intensity.ts, backoff.ts)", () => {
  it.effect("IntensityOptions and BackoffOptions: OTP's intensity with a gentle backoff", () =>
    Effect.gen(function*() {
      const otpDefaults: IntensityOptions = { maxRestarts: 1, withinMs: 5_000 }
      const gentle: BackoffOptions = { initialMs: 100, maxMs: 10_000, jitter: 0 } // 100, 200, 400 ... ms
      const starts: Array<number> = []
      const start = Effect.andThen(Effect.clockWith((clock) => Effect.sync(() => void starts.push(clock.currentTimeMillisUnsafe()))), fromEffect(Effect.fail("crash")))
      const sup = yield* make({ id: "app", intensity: otpDefaults, backoff: gentle, children: [{ id: "a", restart: "permanent", start }] })
      const running = yield* Effect.forkChild(Effect.flip(sup.await))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(starts, [0, 100])
      assert.deepInclude(yield* Fiber.join(running), { restarts: 2, withinMs: 5_000 })
    }))
})

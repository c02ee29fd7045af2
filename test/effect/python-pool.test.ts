// pyvisor/effect on real Python processes: the layer owns the pool, calls are Effects with
// typed errors, interruption cancels in Python, streams stop early.
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Stream } from "effect"
import { PythonError } from "../../src/errors.ts"
import { fromCall, makeRuntime, PythonPool } from "../../src/effect/index.ts"
import { eventually, FIXTURES, isAlive, pythonChildren, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  const basic = PythonPool.layer({ worker: { startMethod, module: "basic", cwd: FIXTURES }, size: 1 })
  const pooled = PythonPool.layer({ worker: { startMethod, module: "pooled", cwd: FIXTURES }, size: 1, cancelGraceMs: 200 })

  const livePids = Effect.map(PythonPool.snapshot(), (s) => s.workers.map((w) => w.pid).filter((pid) => pid !== null))

  describe("PythonPool layer", () => {
    it.live("starts the pool when built and stops every process when its scope closes", () =>
      Effect.gen(function*() {
        const pids = yield* Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(PythonPool.layer({ worker: { startMethod, module: "basic", cwd: FIXTURES }, size: 2 }))
          const pool = Context.get(context, PythonPool)
          const snapshot = yield* pool.snapshot
          assert.strictEqual(snapshot.state, "ready")
          const pids = snapshot.workers.map((w) => w.pid!)
          assert.lengthOf(pids, 2)
          assert.isTrue(pids.every(isAlive))
          assert.includeMembers(pythonChildren(), pids)
          return pids
        }))
        assert.isTrue(pids.every((pid) => !isAlive(pid)), "no worker outlives the scope")
        assert.isTrue(pids.every((pid) => !pythonChildren().includes(pid)))
      }))

    it.live("Effect.provide runs the program with a pool and closes it afterwards", () =>
      Effect.gen(function*() {
        const pids = yield* livePids.pipe(Effect.provide(basic))
        assert.lengthOf(pids, 1)
        assert.isFalse(isAlive(pids[0]!))
      }))

    it.live("bad options fail the layer with InvalidOptionError in the error channel", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Layer.build(PythonPool.layer({ worker: { startMethod, module: "basic", cwd: FIXTURES }, size: -1 })))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasFails(exit.cause) && !Cause.hasDies(exit.cause), "a failure, not a defect")
        const error = yield* Effect.flip(Layer.build(PythonPool.layer({ worker: { startMethod, module: "basic", cwd: FIXTURES }, size: -1 })))
        assert.strictEqual(error._tag, "InvalidOptionError")
        assert.strictEqual(error._tag === "InvalidOptionError" && error.option, "size")
      }))
  })

  describe("PythonPool.call", () => {
    it.live("returns the handler's value", () =>
      Effect.gen(function*() {
        assert.strictEqual(yield* PythonPool.call("add", { a: 1, b: 2 }), 3)
        assert.strictEqual(yield* PythonPool.call("add", [40, 2]), 42)
        const pool = yield* PythonPool
        assert.isNull(yield* pool.call("noop"))
        const who = (yield* pool.call("whoami", undefined, { timeoutMs: 5_000 })) as { readonly cancelled: boolean }
        assert.isFalse(who.cancelled)
      }).pipe(Effect.provide(basic)))

    it.live("a Python exception is a PythonError in the error channel, handled with catchTag", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(PythonPool.call("boom", { message: "kaput" }))
        assert.strictEqual(error._tag, "PythonError")
        assert.instanceOf(error, PythonError)
        const handled = yield* PythonPool.call("boom").pipe(
          Effect.catchTag("PythonError", (e) => Effect.succeed(`caught ${e.type}`))
        )
        assert.strictEqual(handled, "caught ValueError")
        assert.strictEqual(yield* PythonPool.call("add", { a: 1, b: 1 }), 2)
      }).pipe(Effect.provide(basic)))

    it.live("an unknown handler is an UnknownHandlerError in the error channel", () =>
      Effect.gen(function*() {
        const available = yield* PythonPool.call("nope").pipe(
          Effect.as([] as ReadonlyArray<string>),
          Effect.catchTag("UnknownHandlerError", (e) => Effect.succeed(e.available))
        )
        assert.includeMembers([...available], ["add", "boom"])
        const error = yield* Effect.flip(PythonPool.call("nope"))
        assert.strictEqual(error._tag, "UnknownHandlerError")
      }).pipe(Effect.provide(basic)))

    it.live("bad call options are an InvalidOptionError, not a defect", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(PythonPool.call("add", { a: 1, b: 2 }, { timeoutMs: -5 }))
        assert.strictEqual(error._tag, "InvalidOptionError")
      }).pipe(Effect.provide(basic)))

    it.live("a rejection that is not a pyvisor error is a defect", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(fromCall(() => Promise.reject(new TypeError("bug"))))
        assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause) && !Cause.hasFails(exit.cause))
      }))

    it.live("interrupting a call cancels it in Python: a polite handler notices and its worker serves on", () =>
      Effect.gen(function*() {
        const [pid] = yield* livePids
        const exit = yield* Effect.exit(PythonPool.call("polite", { ms: 10_000 }).pipe(Effect.timeout("100 millis")))
        assert.isTrue(Exit.isFailure(exit))
        const started = Date.now()
        assert.strictEqual(yield* PythonPool.call("pid"), pid)
        assert.isBelow(Date.now() - started, 2_000, "the worker was freed by the cancel, not by the handler finishing")
      }).pipe(Effect.provide(pooled)))

    it.live("interrupting a hung call gets its worker replaced, and the next call works", () =>
      Effect.gen(function*() {
        const [pid] = yield* livePids
        const error = yield* Effect.flip(PythonPool.call("hang", { ms: 60_000 }).pipe(Effect.timeout("100 millis")))
        assert.isTrue(Cause.isTimeoutError(error))
        const next = yield* PythonPool.call("pid")
        assert.notStrictEqual(next, pid)
        assert.isTrue(yield* Effect.promise(() => eventually(() => !isAlive(pid!))))
        const snapshot = yield* PythonPool.snapshot()
        assert.strictEqual(snapshot.workers[0]!.state, "ready")
      }).pipe(Effect.provide(pooled)))
  })

  describe("PythonPool.stream", () => {
    it.live("collects every item in order", () =>
      Effect.gen(function*() {
        const items = yield* Stream.runCollect(PythonPool.stream("numbers", { n: 1_000 }))
        assert.deepStrictEqual(items, Array.from({ length: 1_000 }, (_, i) => i))
        // A Stream is a description: running it again runs the generator again.
        const stream = PythonPool.stream("numbers", { n: 3 }, { window: 1 })
        assert.deepStrictEqual(yield* Stream.runCollect(stream), [0, 1, 2])
        assert.deepStrictEqual(yield* Stream.runCollect(stream), [0, 1, 2])
      }).pipe(Effect.provide(pooled)))

    it.live("taking the first N stops the Python generator and frees the worker", () =>
      Effect.gen(function*() {
        const marker = join(mkdtempSync(join(tmpdir(), "pyvisor-effect-")), "closed")
        const first = yield* Stream.runCollect(PythonPool.stream("numbers", { n: 1_000_000, marker }).pipe(Stream.take(5)))
        assert.deepStrictEqual(first, [0, 1, 2, 3, 4])
        assert.isTrue(yield* Effect.promise(() => eventually(() => existsSync(marker))), "the generator's finally ran")
        assert.strictEqual(typeof (yield* PythonPool.call("pid")), "number")
      }).pipe(Effect.provide(pooled)))

    it.live("an exception mid-stream fails the stream with PythonError after the items before it", () =>
      Effect.gen(function*() {
        const seen: Array<unknown> = []
        const error = yield* Effect.flip(Stream.runForEach(PythonPool.stream("broken_stream", { n: 3 }), (x) => Effect.sync(() => seen.push(x))))
        assert.deepStrictEqual(seen, [0, 1, 2])
        assert.strictEqual(error._tag, "PythonError")
      }).pipe(Effect.provide(pooled)))
  })

  describe("makeRuntime", () => {
    it.live("runs Effects as Promises with the same errors, and dispose stops the pool", () =>
      Effect.promise(async () => {
        const runtime = makeRuntime({ worker: { startMethod, module: "basic", cwd: FIXTURES }, size: 1 })
        assert.strictEqual(await runtime.runPromise(PythonPool.call("add", { a: 2, b: 3 })), 5)
        const error = await runtime.runPromise(PythonPool.call("boom")).catch((e: unknown) => e)
        assert.instanceOf(error, PythonError)
        const [pid] = await runtime.runPromise(livePids)
        await runtime.dispose()
        assert.isFalse(isAlive(pid!))
      }))
  })
})

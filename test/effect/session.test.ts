// PythonPool.session on real Python processes: a scoped resource over the engine's pool.session.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { PythonPool } from "../../src/effect/index.ts"
import { FIXTURES, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  const basic = PythonPool.layer({ worker: { startMethod, module: "basic", cwd: FIXTURES }, size: 2 })

  describe("PythonPool.session", () => {
    it.live("calls and streams run in the session", () =>
      Effect.scoped(Effect.gen(function*() {
        const session = yield* PythonPool.session("user-42")
        assert.strictEqual(session.id, "user-42")
        const who = (yield* session.call("whoami")) as { readonly session: string | null }
        assert.strictEqual(who.session, "user-42")
        assert.deepStrictEqual(yield* Stream.runCollect(session.stream("count", { n: 3 })), [0, 1, 2])
        const error = yield* Effect.flip(session.call("boom"))
        assert.strictEqual(error._tag, "PythonError")
      })).pipe(Effect.provide(basic)))

    it.live("strict affinity keeps every call on one worker", () =>
      Effect.scoped(Effect.gen(function*() {
        const session = yield* PythonPool.session("sticky", { affinity: "strict" })
        const pids = yield* Effect.forEach(Array.from({ length: 6 }), () => session.call("pid"))
        assert.lengthOf(new Set(pids), 1)
      })).pipe(Effect.provide(basic)))

    it.live("the session is closed when its scope closes", () =>
      Effect.gen(function*() {
        const escaped = yield* Effect.scoped(PythonPool.session("short-lived"))
        const error = yield* Effect.flip(escaped.call("noop"))
        assert.strictEqual(error._tag, "SessionNotFoundError")
      }).pipe(Effect.provide(basic)))

    it.live("a session's timeoutMs bounds its calls that give none; a bad one fails with InvalidOptionError", () =>
      Effect.scoped(Effect.gen(function*() {
        const session = yield* PythonPool.session("bounded", { timeoutMs: 100 })
        const error = yield* Effect.flip(session.call("wait_cancel", { ms: 60_000 }))
        assert.strictEqual(error._tag, "CallTimeoutError")
        assert.strictEqual((error as { readonly timeoutMs?: number }).timeoutMs, 100)
        assert.strictEqual(yield* session.call("wait_cancel", { ms: 1 }, { timeoutMs: 60_000 }), "timeout")
        const bad = yield* Effect.flip(PythonPool.session("s", { timeoutMs: -1 }))
        assert.strictEqual(bad._tag, "InvalidOptionError")
        assert.match(bad.message, /^session\.timeoutMs must be an integer from 1, .* got -1$/)
      })).pipe(Effect.provide(basic)))

    it.live("a bad session id fails with InvalidSessionIdError in the error channel", () =>
      Effect.scoped(Effect.gen(function*() {
        const error = yield* Effect.flip(PythonPool.session("not a valid id"))
        assert.strictEqual(error._tag, "InvalidSessionIdError")
      })).pipe(Effect.provide(basic)))
  })
})

// Fake children for supervisor tests: each incarnation records "start id" / "stop id" in a
// shared log and ends only when the test completes its Deferred. No timers, no processes.
import { Deferred, Effect, Ref } from "effect"
import type { ChildSpec, ExitReason, RestartType } from "../../src/supervisors/supervisor.ts"

/** Backoff without jitter, so delays are exact: 10, 20, 40 ... ms. */
export const EXACT_BACKOFF = { initialMs: 10, maxMs: 1_000, jitter: 0, resetAfterMs: 60_000 }

export interface Harness {
  readonly log: Ref.Ref<ReadonlyArray<string>>
  /** A child spec whose incarnations the test can end with {@link Harness.exit}. */
  readonly spec: (id: string, restart?: RestartType) => ChildSpec<string>
  /** Makes the next `count` starts of `id` fail (logged as "fail id"). */
  readonly failNextStarts: (id: string, count: number) => void
  /** Ends the current incarnation of `id` (abnormally unless `normal`), then yields so the watcher and controller react. */
  readonly exit: (id: string, normal?: boolean) => Effect.Effect<void>
  /** Ends the current incarnation of `id` with the given reason (e.g. a `healthy` one), then yields. */
  readonly exitWith: (id: string, reason: ExitReason) => Effect.Effect<void>
  /** Returns the log and clears it. */
  readonly takeLog: Effect.Effect<ReadonlyArray<string>>
}

export const makeHarness: Effect.Effect<Harness> = Effect.gen(function*() {
  const log = yield* Ref.make<ReadonlyArray<string>>([])
  const current = new Map<string, Deferred.Deferred<ExitReason>>()
  const append = (line: string) => Ref.update(log, (lines) => [...lines, line])

  const failures = new Map<string, number>()
  const incarnation = (id: string) =>
    Effect.gen(function*() {
      const left = failures.get(id) ?? 0
      if (left > 0) {
        failures.set(id, left - 1)
        yield* append(`fail ${id}`)
        return yield* Effect.fail(`cannot start ${id}`)
      }
      const done = yield* Deferred.make<ExitReason>()
      current.set(id, done)
      yield* Effect.acquireRelease(append(`start ${id}`), () => append(`stop ${id}`))
      return { exit: Deferred.await(done) }
    })

  const harness: Harness = {
    log,
    spec: (id, restart = "permanent") => ({ id, restart, start: incarnation(id) }),
    failNextStarts: (id, count) => {
      failures.set(id, count)
    },
    exit: (id, normal = false) => harness.exitWith(id, { normal, reason: normal ? "done" : `${id} crashed` }),
    exitWith: (id, reason) =>
      Effect.suspend(() => {
        const done = current.get(id)
        if (done === undefined) return Effect.die(new Error(`no incarnation of ${id}`))
        return Deferred.succeed(done, reason)
      }).pipe(Effect.andThen(Effect.yieldNow)),
    takeLog: Ref.getAndSet(log, [])
  }
  return harness
})

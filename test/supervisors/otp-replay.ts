// Replays an OTP transcript (test/fixtures/otp/*.json, written by supervisor_transcripts.escript)
// on pyvisor's Supervisor and returns the events it produced, in the transcript's vocabulary:
// the children log "start"/"fail"/"stop <reason>" exactly where the escript's gen_servers do.
// Runs under TestClock with backoff off: `sleep` steps advance the clock, nothing else does.
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Cause, Deferred, Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import { make } from "../../src/supervisors/supervisor.ts"
import type { ExitReason, RestartType, Strategy, Supervisor, SupervisorChildError } from "../../src/supervisors/supervisor.ts"

export const OTP_FIXTURES = fileURLToPath(new URL("../fixtures/otp/", import.meta.url))
export const ESCRIPT = join(OTP_FIXTURES, "supervisor_transcripts.escript")

export type Step =
  | { readonly op: "exit"; readonly id: string; readonly reason: string }
  | { readonly op: "sleep"; readonly ms: number }
  | { readonly op: "fail_starts"; readonly id: string; readonly count: number }
  | { readonly op: "terminate_child" | "restart_child" | "delete_child"; readonly id: string }
  | { readonly op: "which_children" | "count_children" | "shutdown" }

export interface Transcript {
  readonly name: string
  readonly doc: string
  readonly otp_release: string
  readonly strategy: Strategy
  readonly intensity: number
  readonly period_s: number
  readonly children: ReadonlyArray<{ readonly id: string; readonly restart: RestartType }>
  readonly before: ReadonlyArray<Step>
  readonly steps: ReadonlyArray<Step>
  readonly events: ReadonlyArray<string>
}

/** Every transcript in `dir`, by file name. */
export const readTranscripts = (dir: string = OTP_FIXTURES): ReadonlyArray<readonly [string, Transcript]> =>
  readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => [f, JSON.parse(readFileSync(join(dir, f), "utf8")) as Transcript])

/** OTP's normal exit reasons: `normal`, `shutdown`, `{shutdown, _}`. */
const isNormal = (reason: string): boolean => reason === "normal" || reason === "shutdown" || reason.startsWith("{shutdown,")

/**
 * Lets every fiber the last step woke run to completion: the child's watcher, the controller and
 * the restarts it makes are all in memory, so a bounded number of scheduler turns is plenty.
 */
const settle = Effect.repeat(Effect.yieldNow, { times: 200 })

/** The events, and whether the supervisor ended by giving up (rather than by a `shutdown` step). */
export interface Replayed {
  readonly events: ReadonlyArray<string>
  readonly gaveUp: boolean
}

export const replay = (t: Transcript): Effect.Effect<Replayed> =>
  Effect.gen(function*() {
    const log: Array<string> = []
    const failures = new Map<string, number>()
    // The live incarnation of each child: how to end it, and whether it already ended itself.
    const live = new Map<string, { readonly done: Deferred.Deferred<ExitReason>; exited: boolean }>()

    const start = (id: string) =>
      Effect.gen(function*() {
        const left = failures.get(id) ?? 0
        if (left > 0) {
          failures.set(id, left - 1)
          log.push(`fail ${id}`)
          return yield* Effect.fail(id)
        }
        const incarnation = { done: yield* Deferred.make<ExitReason>(), exited: false }
        log.push(`start ${id}`)
        live.set(id, incarnation)
        // The supervisor stopping it is OTP's `shutdown`; a child that ended itself logged already.
        yield* Effect.addFinalizer(() => Effect.sync(() => incarnation.exited || log.push(`stop ${id} shutdown`)))
        return { exit: Deferred.await(incarnation.done) }
      })

    for (const step of t.before) if (step.op === "fail_starts") failures.set(step.id, step.count)
    const scope = yield* Scope.make()
    const made = yield* Effect.exit(Scope.provide(make({
      id: t.name,
      strategy: t.strategy,
      intensity: { maxRestarts: t.intensity, withinMs: t.period_s * 1_000 },
      backoff: false,
      children: t.children.map(({ id, restart }) => ({ id, restart, start: start(id) }))
    }), scope))
    if (Exit.isFailure(made)) {
      const failed = Cause.findErrorOption(made.cause)
      log.push(`supervisor start failed: ${failed._tag === "Some" ? failed.value : Cause.pretty(made.cause)}`)
      return { events: log, gaveUp: false }
    }
    const sup: Supervisor<string> = made.value
    const awaiting = yield* Effect.forkChild(sup.await)
    const result = (effect: Effect.Effect<void, SupervisorChildError | string>) =>
      Effect.match(effect, { onSuccess: () => "ok", onFailure: (e) => `error ${typeof e === "string" ? e : e.reason}` })

    const run = (step: Step): Effect.Effect<void> => {
      switch (step.op) {
        case "exit":
          return Effect.suspend(() => {
            const incarnation = live.get(step.id)
            if (incarnation === undefined || incarnation.exited) return Effect.die(new Error(`${step.id} is not running`))
            incarnation.exited = true
            log.push(`stop ${step.id} ${step.reason}`)
            return Effect.andThen(Deferred.succeed(incarnation.done, { normal: isNormal(step.reason), reason: step.reason }), settle)
          })
        case "sleep":
          return TestClock.adjust(step.ms)
        case "fail_starts":
          return Effect.sync(() => void failures.set(step.id, step.count))
        case "terminate_child":
          return Effect.map(result(sup.terminateChild(step.id)), (r) => void log.push(`terminate_child ${step.id}: ${r}`))
        case "restart_child":
          return Effect.map(result(sup.restartChild(step.id)), (r) => void log.push(`restart_child ${step.id}: ${r}`))
        case "delete_child":
          return Effect.map(result(sup.deleteChild(step.id)), (r) => void log.push(`delete_child ${step.id}: ${r}`))
        case "which_children":
          return Effect.map(sup.whichChildren, (children) =>
            void log.push(`which_children:${children.map((c) => ` ${c.id}=${c.status}`).join("")}`))
        case "count_children":
          return Effect.map(sup.countChildren, ({ active, specs }) => void log.push(`count_children: specs=${specs} active=${active}`))
        case "shutdown":
          return Effect.andThen(Scope.close(scope, Exit.void), settle)
      }
    }

    for (const step of t.steps) {
      // Like the escript: once the supervisor has ended, the remaining steps are not run.
      if (awaiting.pollUnsafe() !== undefined) break
      yield* run(step)
    }
    const ended = awaiting.pollUnsafe()
    if (ended === undefined) return yield* Effect.die(new Error(`${t.name}: the supervisor is still running after the last step`))
    // Gave up (SupervisorEscalation) or was shut down (interrupted with its Scope): OTP exits with `shutdown` either way.
    log.push("supervisor exit: shutdown")
    return { events: log, gaveUp: Exit.isFailure(ended) && Cause.findErrorOption(ended.cause)._tag === "Some" }
  })

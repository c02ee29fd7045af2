/**
 * What a static supervisor is given (child specs, options) and what it hands back (the running
 * supervisor and what it reports about its children), with the validation of the options.
 * Implemented by `supervisor.ts`.
 *
 * @example
 * ```ts
 * const options: SupervisorOptions = { id: "app", strategy: "one_for_all", children: [] }
 * ```
 * @module
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { invalid } from "../options/kit.ts"
import type { BackoffOptions } from "./backoff.ts"
import type { SupervisorChildError, SupervisorEscalation } from "./errors.ts"
import type { IntensityOptions } from "./intensity.ts"
import type { Child, RestartType } from "./slot.ts"

/**
 * Which children are restarted when one of them must be (always in start order): the one that
 * exited (`one_for_one`), all (`one_for_all`), or it and those started after it (`rest_for_one`).
 *
 * @example
 * ```ts
 * const strategy: Strategy = "rest_for_one" // api depends on db: a db crash restarts both
 * ```
 */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one"

const STRATEGIES: ReadonlyArray<Strategy> = ["one_for_one", "one_for_all", "rest_for_one"]
const RESTART_TYPES: ReadonlyArray<RestartType> = ["permanent", "transient", "temporary"]

/**
 * How to start one child (OTP's child spec). `start` acquires the child in the Scope it is
 * given; closing that Scope is how the child is stopped.
 *
 * @example
 * ```ts
 * const spec: ChildSpec = { id: "ticker", restart: "permanent", start: fromEffect(tick.pipe(Effect.forever)) }
 * ```
 */
export interface ChildSpec<E = never, R = never> {
  readonly id: string
  readonly start: Effect.Effect<Child, E, Scope.Scope | R>
  readonly restart: RestartType
}

/**
 * Supervisor options (OTP's supervisor flags and child specs); `strategy`, `intensity` and
 * `backoff` have defaults.
 *
 * @example
 * ```ts
 * const otpLike: SupervisorOptions = { id: "app", intensity: { maxRestarts: 1, withinMs: 5_000 }, backoff: false, children: [] }
 * ```
 */
export interface SupervisorOptions<E = never, R = never> {
  readonly id: string
  /** Default `one_for_one`. */
  readonly strategy?: Strategy
  /** Started in this order; stopped in reverse. Ids must be unique. */
  readonly children: ReadonlyArray<ChildSpec<E, R>>
  /** Default 10 restarts in 60 s (OTP: 1 in 5 s). */
  readonly intensity?: IntensityOptions
  /**
   * Delay before restarting a child that was not healthy. Default 10 ms doubling to 5 s,
   * jitter 0.2, reset after 30 s. `false`: restart at once, as OTP does.
   */
  readonly backoff?: BackoffOptions | false
}

/**
 * One child as `whichChildren` reports it (OTP's `which_children`): `terminated` is a child
 * whose spec is kept but that is not running (a transient child that exited normally, or one
 * stopped by `terminateChild`); `restarting` is a child whose restart failed and is retried.
 *
 * @example
 * ```ts
 * const down = (yield* sup.whichChildren).filter((c: ChildInfo) => c.status !== "running")
 * ```
 */
export interface ChildInfo {
  readonly id: string
  readonly restart: RestartType
  readonly status: "running" | "restarting" | "terminated"
}

/**
 * OTP's `count_children`: child specs kept, and how many of them are running.
 *
 * @example
 * ```ts
 * const { specs, active } = yield* sup.countChildren
 * ```
 */
export interface ChildCounts {
  readonly specs: number
  readonly active: number
}

/**
 * A running supervisor. Its lifetime is the Scope `make` ran in. The calls are served one at a
 * time together with the children's exits, like calls to OTP's supervisor process: a call made
 * while a restart is in progress (its backoff delay included) waits for it.
 *
 * @example
 * ```ts
 * yield* sup.terminateChild("api")   // stopped, spec kept
 * yield* sup.restartChild("api")     // started again; not a crash, not counted
 * ```
 */
export interface Supervisor<E = never> {
  readonly id: string
  /** Never succeeds; fails with {@link SupervisorEscalation} when the supervisor gives up. */
  readonly await: Effect.Effect<never, SupervisorEscalation>
  /** Ids of the children currently running, in start order. */
  readonly children: Effect.Effect<ReadonlyArray<string>>
  /** Every child spec kept, in start order, with its status (OTP's `which_children`). */
  readonly whichChildren: Effect.Effect<ReadonlyArray<ChildInfo>>
  /** OTP's `count_children`. */
  readonly countChildren: Effect.Effect<ChildCounts>
  /**
   * Stops a child and keeps its spec (a temporary child's spec is dropped), as OTP's
   * `terminate_child`; a pending retry of a failed restart is cancelled. Not a crash: nothing
   * is restarted or counted, though a later group restart of a sibling starts it again (OTP
   * too). Succeeds if the child was already terminated.
   */
  readonly terminateChild: (id: string) => Effect.Effect<void, SupervisorChildError>
  /**
   * Starts a terminated child again (OTP's `restart_child`): fails with `running` or
   * `restarting` if it is not terminated, or with the child's start error (which is not retried
   * and not counted).
   */
  readonly restartChild: (id: string) => Effect.Effect<void, SupervisorChildError | E>
  /** Forgets a terminated child's spec (OTP's `delete_child`); `running`/`restarting` otherwise. */
  readonly deleteChild: (id: string) => Effect.Effect<void, SupervisorChildError>
}

/** @internal Throws `InvalidOptionError` for a bad strategy, restart type or duplicate id. */
export const validate = <E, R>(options: SupervisorOptions<E, R>): void => {
  if (options.strategy !== undefined && !STRATEGIES.includes(options.strategy)) {
    throw invalid("strategy", options.strategy, `one of ${STRATEGIES.join(", ")}`)
  }
  const seen = new Set<string>()
  options.children.forEach((spec, i) => {
    if (seen.has(spec.id)) throw invalid(`children[${i}].id`, spec.id, "unique among the children")
    seen.add(spec.id)
    if (!RESTART_TYPES.includes(spec.restart)) throw invalid(`children[${i}].restart`, spec.restart, `one of ${RESTART_TYPES.join(", ")}`)
  })
}

/**
 * `pyvisor/supervisor`: the OTP supervisor pyvisor's pools run on, as a public Effect API for
 * supervising anything (Effect fibers, servers, connections, nested supervisors). Same start
 * order, restart sets, restart types, intensity and shutdown order as Erlang/OTP's
 * `supervisor`, checked against transcripts recorded from OTP itself (docs/supervision.md);
 * pyvisor's own additions (backoff, larger default intensity) can be turned off.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Supervisor } from "pyvisor/supervisor"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const sup = yield* Supervisor.make({
 *     id: "app",
 *     strategy: "one_for_one",
 *     intensity: { maxRestarts: 1, withinMs: 5_000 },   // OTP's defaults
 *     backoff: false,                                     // restart at once, as OTP does
 *     children: [
 *       { id: "ticker", restart: "permanent", start: Supervisor.fromEffect(tick.pipe(Effect.forever)) },
 *       { id: "reporter", restart: "transient", start: Supervisor.fromEffect(report) }
 *     ]
 *   })
 *   return yield* sup.await   // fails with SupervisorEscalation if it gives up
 * }))
 * ```
 * @module
 */
import "../node-version.ts"
export * as Supervisor from "./supervisor.ts"
export { SupervisorChildError, SupervisorEscalation } from "./errors.ts"
export type { ChildErrorReason } from "./errors.ts"
export { exitReasonOf, fromEffect, fromFiber } from "./child.ts"
export type { Child, ExitReason, RestartType } from "./slot.ts"
export type { ChildCounts, ChildInfo, ChildSpec, Strategy, SupervisorOptions } from "./supervisor.ts"
export type { IntensityOptions } from "./intensity.ts"
export type { BackoffOptions } from "./backoff.ts"

/**
 * The machine definition as Stately's tools read it: XState's own `machine.toJSON()` (what the
 * Stately inspector receives as an actor's `definition`), reduced to plain JSON data.
 * @module
 */
import type { AnyStateMachine } from "xstate"

/**
 * A JSON value.
 *
 * @example
 * ```ts
 * const v: Json = { id: "worker", states: {} }
 * ```
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/**
 * The machine's definition (`machine.toJSON()`) as plain JSON: state nodes with their ids, types,
 * initial states, transitions (`on`, `transitions`), entry/exit actions, guards by name. Functions
 * (inline params) are dropped; key order is XState's, so the output is deterministic.
 *
 * @example
 * ```ts
 * JSON.stringify(toStatelyJSON(workerMachine), null, 2) // { "id": "worker", "key": "worker", "type": "compound", ... }
 * ```
 */
export const toStatelyJSON = (machine: AnyStateMachine): Json => JSON.parse(JSON.stringify(machine.toJSON())) as Json

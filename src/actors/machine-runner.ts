/**
 * Runs a pure XState machine: it keeps the snapshot, feeds it events with XState's `transition()`
 * and executes the named actions each transition returns, after the new state is committed.
 * Events sent while actions run are queued and processed in order once they return, so an action
 * always sees the state that decided it and never re-enters the machine.
 * @internal
 */
import { initialTransition, transition } from "xstate"
import type { AnyStateMachine, EventFromLogic, InputFrom, SnapshotFrom } from "xstate"

/** Implementations of a machine's named actions: each gets the action's params and the event. */
export type ActionImpls<M extends AnyStateMachine> = Readonly<Record<string, (params: never, event: EventFromLogic<M>) => void>>

/** @internal */
export class MachineRunner<M extends AnyStateMachine> {
  #snapshot: SnapshotFrom<M>
  readonly #machine: M
  readonly #impls: ActionImpls<M>
  readonly #onChange: (snapshot: SnapshotFrom<M>, previous: SnapshotFrom<M>, event: EventFromLogic<M>) => void
  readonly #inbox: Array<EventFromLogic<M>> = []
  #running = false
  #pendingInitial: ReadonlyArray<{ type: string; params?: unknown }> | null

  constructor(
    machine: M, input: InputFrom<M>, impls: ActionImpls<M>,
    onChange: (snapshot: SnapshotFrom<M>, previous: SnapshotFrom<M>, event: EventFromLogic<M>) => void
  ) {
    this.#machine = machine
    this.#impls = impls
    this.#onChange = onChange
    const [snapshot, actions] = initialTransition(machine, input)
    this.#snapshot = snapshot as SnapshotFrom<M>
    this.#pendingInitial = actions
  }

  get snapshot(): SnapshotFrom<M> {
    return this.#snapshot
  }

  /** Executes the initial state's entry actions. Call once. */
  start(): void {
    const actions = this.#pendingInitial
    this.#pendingInitial = null
    if (actions === null) return
    this.#running = true
    try {
      this.#execute(actions, { type: "xstate.init" } as EventFromLogic<M>)
    } finally {
      this.#running = false
    }
    this.#drain()
  }

  /** Processes `event` (or queues it, when sent from an action); ignored once the machine is done. */
  send(event: EventFromLogic<M>): void {
    this.#inbox.push(event)
    if (!this.#running) this.#drain()
  }

  #drain(): void {
    this.#running = true
    try {
      for (let event = this.#inbox.shift(); event !== undefined; event = this.#inbox.shift()) {
        const previous = this.#snapshot
        if ((previous as { status: string }).status !== "active") continue
        const [next, actions] = transition(this.#machine, previous, event)
        // A targetless transition returns the same snapshot, with actions to run all the same.
        if (next !== previous) {
          this.#snapshot = next as SnapshotFrom<M>
          this.#onChange(this.#snapshot, previous, event)
        }
        this.#execute(actions, event)
      }
    } finally {
      this.#running = false
    }
  }

  #execute(actions: ReadonlyArray<{ type: string; params?: unknown }>, event: EventFromLogic<M>): void {
    for (const action of actions) {
      const impl = this.#impls[action.type]
      if (impl === undefined) continue
      try {
        impl(action.params as never, event)
      } catch (error) {
        // An action must not break the machine; a failure in one is a bug to report, not a state.
        process.emitWarning(`pyvisor: action '${action.type}' threw: ${String(error)}`)
      }
    }
  }
}

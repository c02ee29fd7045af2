/**
 * Runs a pure XState machine with the semantics of XState's `transition()`: each event yields the
 * next snapshot and the named actions it asks for, and those actions run after the new state is
 * committed. Events sent while actions run are queued and processed in order once they return, so
 * an action always sees the state that decided it and never re-enters the machine.
 *
 * It does not call `transition()` itself: that builds a throwaway actor system per event (~47 µs
 * measured here, against ~8 µs for a send to a live actor). It runs one actor whose provided action
 * implementations only record what was asked, and executes the record after each send.
 *
 * Inspection: given `actor` options (an `inspect` observer for a root, a `parent` and `systemId`
 * for a child), that one actor joins an XState actor system, so XState's inspection API sees every
 * event and snapshot. Without them it is created exactly as before: no system beyond its own.
 * @internal
 */
import { createActor } from "xstate"
import type { Actor, AnyActorRef, AnyStateMachine, EventFromLogic, InputFrom, InspectionEvent, Observer, SnapshotFrom } from "xstate"

/** An XState inspection observer: a function, or an object with `next`. */
export type Inspector = Observer<InspectionEvent> | ((event: InspectionEvent) => void)

/** Where the runner's actor sits in an inspected actor system. */
export interface RunnerActorOptions {
  /** The root's observer of every inspection event in its system. */
  readonly inspect?: Inspector
  /** The actor whose system this one joins (as its child). */
  readonly parent?: AnyActorRef
  /** The name this actor is registered under in the system (`system.get(systemId)`). */
  readonly systemId?: string
}

/** Implementations of a machine's named actions: each gets the action's params and the event. */
export type ActionImpls<M extends AnyStateMachine> = Readonly<Record<string, (params: never, event: EventFromLogic<M>) => void>>

/** @internal */
export class MachineRunner<M extends AnyStateMachine> {
  readonly #actor: Actor<M>
  readonly #impls: ActionImpls<M>
  readonly #onChange: (snapshot: SnapshotFrom<M>, previous: SnapshotFrom<M>, event: EventFromLogic<M>) => void
  readonly #inbox: Array<EventFromLogic<M>> = []
  /** Actions the last transition asked for, in order. */
  #asked: Array<{ type: string; params: unknown }> = []
  #running = false
  #started = false

  constructor(
    machine: M, input: InputFrom<M>, impls: ActionImpls<M>,
    onChange: (snapshot: SnapshotFrom<M>, previous: SnapshotFrom<M>, event: EventFromLogic<M>) => void,
    actor?: RunnerActorOptions
  ) {
    this.#impls = impls
    this.#onChange = onChange
    const record = Object.fromEntries(Object.keys(impls).map((type) => [type, (_: unknown, params: unknown) => void this.#asked.push({ type, params })]))
    this.#actor = createActor(machine.provide({ actions: record }) as M, actor === undefined ? { input } : { input, ...actor })
  }

  /** The running actor, as a parent for actors that join its system. */
  get ref(): AnyActorRef {
    return this.#actor
  }

  get snapshot(): SnapshotFrom<M> {
    return this.#actor.getSnapshot() as SnapshotFrom<M>
  }

  /** Enters the initial state and executes its entry actions. Call once. */
  start(): void {
    if (this.#started) return
    this.#started = true
    this.#running = true
    try {
      this.#actor.start()
      this.#execute({ type: "xstate.init" } as EventFromLogic<M>)
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
    if (!this.#started) return
    this.#running = true
    try {
      for (let event = this.#inbox.shift(); event !== undefined; event = this.#inbox.shift()) {
        const previous = this.snapshot
        if ((previous as { status: string }).status !== "active") continue
        this.#actor.send(event)
        const next = this.snapshot
        // A targetless transition keeps the snapshot, with actions to run all the same.
        if (next !== previous) this.#onChange(next, previous, event)
        this.#execute(event)
      }
    } finally {
      this.#running = false
    }
  }

  #execute(event: EventFromLogic<M>): void {
    const actions = this.#asked
    if (actions.length === 0) return
    this.#asked = []
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

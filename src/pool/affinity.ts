/**
 * Session affinity: which worker incarnation served a session last, and the calls of
 * `strict` sessions waiting for that very incarnation. `prefer` uses the binding when that
 * worker is idle and falls back to any worker; `strict` waits for it (bounded by the
 * checkout timeout) and fails once it is gone.
 * @internal
 */
import type { Worker } from "../actors/worker.ts"
import { SessionAffinityError } from "../errors.ts"
import type { Job } from "./job.ts"
import { Queue } from "./queue.ts"
import type { Slot } from "./slots.ts"

interface Binding {
  readonly slot: Slot
  readonly worker: Worker
}

/** Most sessions remembered; the least recently used binding is forgotten first. */
const MAX_BINDINGS = 100_000

/** Where a session's call goes now. */
export type Route =
  | { readonly kind: "any" }
  | { readonly kind: "slot"; readonly slot: Slot }
  | { readonly kind: "wait"; readonly queue: Queue<Job> }
  | { readonly kind: "lost"; readonly error: SessionAffinityError }

/** The error of a strict session call whose worker is gone. */
export const affinityError = (job: Job, workerId: string, pid: number | null, what: string): SessionAffinityError => {
  const sessionId = job.options.session ?? ""
  return new SessionAffinityError({
    message: `session '${sessionId}' is strictly bound to worker ${workerId} (pid ${pid}), which ${what}; '${job.name}' was not run`,
    sessionId, workerId, pid
  })
}

/** @internal */
export class Affinity {
  readonly #bound = new Map<string, Binding>()
  readonly #pinned = new Map<Worker, { slot: Slot; queue: Queue<Job> }>()

  /** Records that `session` was served by `slot`'s current worker. */
  bind(session: string, slot: Slot): void {
    if (slot.worker === null) return
    // Re-inserted so the map's order is least recently used first, and bounded: sessions that
    // expire or are closed elsewhere (another host, the store) would otherwise stay forever.
    this.#bound.delete(session)
    this.#bound.set(session, { slot, worker: slot.worker })
    if (this.#bound.size > MAX_BINDINGS) this.#bound.delete(this.#bound.keys().next().value!)
  }

  forget(session: string): void {
    this.#bound.delete(session)
  }

  route(job: Job, idle: ReadonlySet<Slot>): Route {
    const session = job.options.session
    const binding = session === undefined ? undefined : this.#bound.get(session)
    if (binding === undefined) return { kind: "any" }
    const alive = binding.slot.worker === binding.worker
    if (alive && idle.has(binding.slot)) return { kind: "slot", slot: binding.slot }
    if (job.options.affinity !== "strict") {
      // A prefer binding to a dead worker is useless; a strict one is kept to explain the failure.
      if (!alive && session !== undefined) this.#bound.delete(session)
      return { kind: "any" }
    }
    if (!alive) return { kind: "lost", error: affinityError(job, binding.slot.id, binding.worker.pid, "is gone") }
    let pinned = this.#pinned.get(binding.worker)
    if (pinned === undefined) this.#pinned.set(binding.worker, (pinned = { slot: binding.slot, queue: new Queue<Job>() }))
    return { kind: "wait", queue: pinned.queue }
  }

  /** A strict call waiting for `slot`'s current worker, if that worker is idle now. */
  takePinned(slot: Slot): Job | undefined {
    const pinned = slot.worker ? this.#pinned.get(slot.worker) : undefined
    return pinned?.queue.shift()
  }

  /** The worker is gone: its waiting strict calls, to be failed by the caller. */
  lost(worker: Worker): Array<Job> {
    const pinned = this.#pinned.get(worker)
    this.#pinned.delete(worker)
    return pinned ? pinned.queue.drain() : []
  }

  /** Every waiting strict call (at close or failure). */
  drain(): Array<Job> {
    const jobs = [...this.#pinned.values()].flatMap((p) => p.queue.drain())
    this.#pinned.clear()
    return jobs
  }
}

/**
 * Recycling policy: a worker is replaced after `maxCallsPerWorker` calls, when older than
 * `workerTtlMs`, or when its resident memory exceeds `maxWorkerRssMb` (read every
 * `rssCheckIntervalMs` from /proc, or `ps` elsewhere).
 */
import { readRssBytes } from "../actors/rss.ts"
import type { WorkerActor } from "../actors/worker-actor.ts"
import type { ResolvedOptions } from "./options.ts"
import type { Slot, Slots } from "./slots.ts"

/** @internal */
export class Maintenance {
  readonly #slots: Slots
  readonly #o: ResolvedOptions
  readonly #recycle: (slot: Slot, reason: string) => void
  readonly #timer: NodeJS.Timeout

  constructor(slots: Slots, options: ResolvedOptions, recycle: (slot: Slot, reason: string) => void) {
    this.#slots = slots
    this.#o = options
    this.#recycle = recycle
    this.#timer = setInterval(() => void this.#sweep(), options.rssCheckIntervalMs)
    this.#timer.unref()
  }

  /** Why `actor` should be replaced now that it finished a call, or null. */
  dueAfterCall(slot: Slot, actor: WorkerActor): string | null {
    if (actor.callsServed >= this.#o.maxCallsPerWorker) return `served ${actor.callsServed} calls (maxCallsPerWorker ${this.#o.maxCallsPerWorker})`
    if (performance.now() - slot.bornAt >= this.#o.workerTtlMs) return `older than workerTtlMs (${this.#o.workerTtlMs} ms)`
    if (slot.rss !== null && slot.rss > this.#o.maxWorkerRssBytes) return rssReason(slot.rss, this.#o.maxWorkerRssBytes)
    return null
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  async #sweep(): Promise<void> {
    await Promise.all(this.#slots.all.map(async (slot) => {
      const actor = slot.actor
      const pid = actor?.pid
      if (!actor || pid == null || (actor.state !== "ready" && actor.state !== "busy")) return
      slot.rss = await readRssBytes(pid)
      if (slot.actor !== actor) return
      if (slot.rss !== null && slot.rss > this.#o.maxWorkerRssBytes) this.#recycle(slot, rssReason(slot.rss, this.#o.maxWorkerRssBytes))
      else if (performance.now() - slot.bornAt >= this.#o.workerTtlMs) this.#recycle(slot, `older than workerTtlMs (${this.#o.workerTtlMs} ms)`)
    }))
  }
}

const rssReason = (rss: number, limit: number): string =>
  `resident memory ${(rss / 1048576).toFixed(0)} MiB over maxWorkerRssMb (${(limit / 1048576).toFixed(0)} MiB)`

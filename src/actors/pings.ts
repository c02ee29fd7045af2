/**
 * Outstanding `ping`s of one worker, matched to their `pong`s by id. No timers: whoever
 * pings measures the time (see `heartbeat` in `src/supervisors/heartbeat.ts`).
 */

/**
 * The ping ledger of one worker incarnation.
 *
 * @example
 * ```ts
 * const pings = new Pings()
 * const answered = pings.open((id) => channel.send({ kind: "ping", id }))
 * pings.pong(1) // answered resolves
 * pings.close(new Error("worker exited")) // later pings reject at once
 * ```
 */
export class Pings {
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>()
  #nextId = 1
  #closed: Error | undefined

  /** Pings awaiting their pong. */
  get pending(): number {
    return this.#pending.size
  }

  /** Registers a ping with a fresh id and sends it with `send`; resolves on the matching pong. */
  open(send: (id: number) => void): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed)
    const id = this.#nextId
    this.#nextId = id >= 0xffff_ffff ? 1 : id + 1
    const answered = new Promise<void>((resolve, reject) => this.#pending.set(id, { resolve, reject }))
    send(id)
    return answered
  }

  /** Settles ping `id`. A pong for an unknown id (a late answer) is ignored. */
  pong(id: number): void {
    const entry = this.#pending.get(id)
    if (entry === undefined) return
    this.#pending.delete(id)
    entry.resolve()
  }

  /** Rejects every outstanding ping with `error`, and every later one at once. */
  close(error: Error): void {
    this.#closed ??= error
    const entries = [...this.#pending.values()]
    this.#pending.clear()
    for (const entry of entries) entry.reject(error)
  }
}

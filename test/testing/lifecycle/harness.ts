// The real side of the lifecycle property suite: one pool of fake workers under a TestClock, every
// call it was given with the outcomes the reference model allows for it, and the checks that must
// hold after each command (checkAnswers), after quiescence (settle) and after close (close).
import { Effect, Layer, Scope } from "effect"
import type { Context } from "effect"
import { TestClock } from "effect/testing"
import {
  AbortError, CallTimeoutError, CheckoutTimeoutError, PoolClosedError, ProtocolError, QueueFullError, SessionAffinityError, WorkerCrashedError
} from "../../../src/errors.ts"
import { acquirePool } from "../../../src/effect/index.ts"
import type { Pool } from "../../../src/index.ts"
import { fakeWorker } from "../../../src/testing/index.ts"
import type { FakeSpawner } from "../../../src/testing/index.ts"

/** The pool's shape, drawn per sequence. */
export interface PoolShape {
  readonly size: number
  readonly overflow: number
  readonly prefetch: number
  readonly concurrency: number
  readonly maxCallsPerWorker: number | undefined
  readonly codec: "json" | "msgpack"
  /** The fake workers' import time, and after how many calls each process dies. */
  readonly initDelayMs: number
  readonly crashAfter: number | undefined
  readonly maxQueue: number
  /** Replace workers older than `TIMEOUTS.ttlMs` (the `recycle` command ages them). */
  readonly ttl: boolean
}

export const TIMEOUTS = { checkoutMs: 5_000, cancelGraceMs: 100, idleMs: 1_000, ttlMs: 10_000, sweepMs: 1_000, graceMs: 200, killAfterMs: 200 }

export type Kind = "work" | "stream" | "hang" | "bad"

/** One call given to the pool, and what is known of it. */
export interface CallRecord {
  readonly token: number
  readonly kind: Kind
  readonly idempotent: boolean
  readonly timeoutMs: number | undefined
  readonly controller: AbortController | undefined
  readonly affinity: "prefer" | "strict" | undefined
  /** Stream calls: items asked for, and after how many the consumer breaks out (or never). */
  readonly n: number
  readonly breakAt: number | undefined
  aborted: boolean
  settled: boolean
  /** The next token when it settled: calls with a smaller token were submitted before. */
  settledAt: number
  settles: number
  value: unknown
  error: unknown
  items: Array<unknown>
  readonly submittedAfterClose: boolean
  /** The test clock, unclean exits the pool had heard of, and garbage events when it was submitted. */
  readonly at: { readonly clock: number; readonly unclean: number; readonly garbage: number; readonly queued: number }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export const turns = async (n = 4): Promise<void> => {
  for (let i = 0; i < n; i++) await turn()
}

export class Harness {
  readonly shape: PoolShape
  readonly fake: FakeSpawner
  readonly calls: Array<CallRecord> = []
  /** Handler runs per token (a retried idempotent call may run twice). */
  readonly runs = new Map<number, number>()
  /** Held `work` calls wait for their token's release. */
  readonly #gates = new Map<number, Array<() => void>>()
  readonly #released = new Set<number>()
  /** Garbage written to fd 4 by a `garbage` command, so far. */
  #garbage = 0
  /** Exits the pool has heard of and did not ask for: a process may die before the pool knows, and be sent calls meanwhile. */
  #observedUnclean = 0
  /** Processes the harness ended or sent SIGTERM (`crash`, `sigterm`). */
  readonly #terminated = new Set<object>()
  /** Test clock time advanced so far. */
  #clock = 0
  closed = false
  #pool!: Pool
  #context!: Context.Context<never>
  #nextToken = 1

  private constructor(shape: PoolShape) {
    this.shape = shape
    this.fake = fakeWorker({
      codecs: [shape.codec],
      initDelayMs: shape.initDelayMs,
      ...(shape.crashAfter === undefined ? {} : { crashAfter: shape.crashAfter }),
      hangOn: ["stuck"],
      garbageOn: ["bad"],
      // `workSync` behaves as a sync Python handler: a cancel does not interrupt it.
      ignoreCancel: ["workSync"],
      handlers: {
        work: (args: { token: number; hold: boolean }) => this.#work(args),
        workSync: (args: { token: number; hold: boolean }) => this.#work(args),
        tokens: function*({ token, n }: { token: number; n: number }) {
          for (let i = 0; i < n; i++) yield `${token}:${i}`
        }
      }
    })
  }

  #work({ token, hold }: { token: number; hold: boolean }): unknown {
    this.runs.set(token, (this.runs.get(token) ?? 0) + 1)
    if (!hold || this.#released.has(token)) return `r${token}`
    return new Promise((resolve) => this.#gates.set(token, [...(this.#gates.get(token) ?? []), () => resolve(`r${token}`)]))
  }

  static async make(shape: PoolShape): Promise<Harness> {
    const h = new Harness(shape)
    const scope = Effect.runSync(Scope.make())
    h.#context = await Effect.runPromise(Layer.buildWithScope(TestClock.layer(), scope)) as Context.Context<never>
    // An eager start waits for every worker to be ready, which a slow import makes a matter of clock time.
    let pool: Pool | undefined
    const starting = h.#run(Scope.provide(acquirePool({
      worker: { module: "fake", prefetch: shape.prefetch, concurrency: shape.concurrency },
      size: shape.size,
      overflow: shape.overflow,
      checkoutTimeoutMs: TIMEOUTS.checkoutMs,
      maxQueue: shape.maxQueue,
      cancelGraceMs: TIMEOUTS.cancelGraceMs,
      idleTimeoutMs: TIMEOUTS.idleMs,
      ...(shape.ttl ? { workerTtlMs: TIMEOUTS.ttlMs } : {}),
      rssCheckIntervalMs: TIMEOUTS.sweepMs,
      ...(shape.maxCallsPerWorker === undefined ? {} : { maxCallsPerWorker: shape.maxCallsPerWorker }),
      shutdown: { graceMs: TIMEOUTS.graceMs, killAfterMs: TIMEOUTS.killAfterMs },
      heartbeat: { intervalMs: 1_000, misses: 2 },
      restart: { maxRestarts: 100_000, withinMs: 1_000, backoff: { initialMs: 1, maxMs: 50, jitter: 0 } },
      spawner: h.fake
    }), scope)).then((p) => (pool = p))
    for (let i = 0; i < 20 && pool === undefined; i++) await h.advance(100)
    h.#pool = await starting
    h.#pool.on("worker", (e) => {
      if (e.type === "exit" && e.error !== null) h.#observedUnclean++
    })
    return h
  }

  get pool(): Pool {
    return this.#pool
  }

  #run<A, E>(effect: Effect.Effect<A, E>): Promise<A> {
    return Effect.runPromiseWith(this.#context)(effect)
  }

  /** Advances the test clock by `ms` and lets the event loop catch up. */
  async advance(ms: number): Promise<void> {
    this.#clock += ms
    await this.#run(TestClock.adjust(ms))
    await turns()
  }

  // --- commands --------------------------------------------------------------------------------

  call(kind: Kind, o: { session?: string | undefined; strict?: boolean; idempotent?: boolean; hold?: boolean; sync?: boolean; timeoutMs?: number | undefined; abortable?: boolean; n?: number; breakAt?: number | undefined }): void {
    const token = this.#nextToken++
    const controller = o.abortable ? new AbortController() : undefined
    const record: CallRecord = {
      token, kind, idempotent: o.idempotent ?? false, timeoutMs: o.timeoutMs, controller,
      affinity: o.session === undefined ? undefined : o.strict ? "strict" : "prefer", n: o.n ?? 0, breakAt: o.breakAt,
      aborted: false, settled: false, settledAt: Infinity, settles: 0, value: undefined, error: undefined, items: [], submittedAfterClose: this.closed,
      at: { clock: this.#clock, unclean: this.#observedUnclean, garbage: this.#garbage, queued: this.closed ? 0 : this.#pool.snapshot().queued }
    }
    this.calls.push(record)
    const options = {
      ...(o.session === undefined ? {} : { session: o.session, affinity: o.strict ? "strict" as const : "prefer" as const }),
      ...(o.idempotent ? { idempotent: true } : {}),
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      ...(controller ? { signal: controller.signal } : {})
    }
    const settle = (ok: boolean, outcome: unknown): void => {
      record.settles++
      record.settled = true
      record.settledAt = this.#nextToken
      if (ok) record.value = outcome
      else record.error = outcome
    }
    if (kind === "stream") {
      void (async () => {
        for await (const item of this.#pool.stream("tokens", { token, n: record.n }, { ...options, window: 2 })) {
          record.items.push(item)
          if (record.items.length === record.breakAt) break
        }
      })().then(() => settle(true, record.items), (e: unknown) => settle(false, e))
      return
    }
    const name = kind === "work" ? (o.sync ? "workSync" : "work") : kind === "hang" ? "stuck" : "bad"
    this.#pool.call(name, { token, hold: o.hold ?? false }, options).then((v) => settle(true, v), (e: unknown) => settle(false, e))
  }

  release(index: number): void {
    const record = this.calls[index % Math.max(1, this.calls.length)]
    if (record === undefined) return
    this.#released.add(record.token)
    for (const open of this.#gates.get(record.token) ?? []) open()
    this.#gates.delete(record.token)
  }

  abort(index: number): void {
    // Among the abortable calls still unsettled: aborting a settled one tests nothing.
    const record = this.calls.filter((c) => c.controller !== undefined && !c.settled)[index]
    if (record === undefined || record.aborted) return
    record.aborted = true
    record.controller!.abort()
  }

  /** The process dies now: a signal, an exit code, or exit 0 (sys.exit(0)), which the pool did not ask for either. */
  crash(index: number, how: "SIGSEGV" | 1 | 0): void {
    const alive = this.fake.alive
    const victim = alive[index % Math.max(1, alive.length)]
    if (victim === undefined) return
    this.#terminated.add(victim)
    victim.crash(how === "SIGSEGV" ? { signal: how } : { code: how })
  }

  /** SIGTERM from outside (the OS, a container stop): the runtime's ordered stop, unasked by the pool. */
  sigterm(index: number): void {
    const alive = this.fake.alive
    const victim = alive[index % Math.max(1, alive.length)]
    if (victim === undefined) return
    this.#terminated.add(victim)
    victim.kill("SIGTERM")
  }

  garbage(index: number): void {
    const alive = this.fake.alive
    const victim = alive[index % Math.max(1, alive.length)]
    if (victim === undefined) return
    this.#garbage++
    victim.garbage()
  }

  // --- what must hold ---------------------------------------------------------------------------

  /** After every command (once the event loop has caught up): no call waits in the queue while a worker sits idle. */
  checkWorkConserving(): void {
    if (this.closed) return
    const snapshot = this.#pool.snapshot()
    if (snapshot.queued === 0) return
    // `ready` is serving with room (idle, or room for a prefetched call), unless it is being
    // recycled: it takes nothing new then, and only the call count says so from outside.
    const max = this.shape.maxCallsPerWorker ?? Infinity
    const free = snapshot.workers.filter((w) => w.state === "ready" && (w.inFlight === 0 || (!this.shape.ttl && w.calls + w.inFlight < max)))
    if (free.length > 0) throw new Error(`${snapshot.queued} call(s) queued while ${free.map((w) => `${w.id} (${w.inFlight} in flight)`).join(", ")} could take one`)
  }

  /** After every command: every answer is the one its call asked for; nothing ran twice unless retried. */
  checkAnswers(): void {
    for (const c of this.calls) {
      if (c.settles > 1) throw new Error(`call ${c.token} settled ${c.settles} times`)
      const runs = this.runs.get(c.token) ?? 0
      const maxRuns = c.kind === "work" ? (c.idempotent ? 2 : 1) : 0
      if (runs > maxRuns) throw new Error(`call ${c.token} (${c.kind}${c.idempotent ? ", idempotent" : ""}) ran ${runs} times`)
      if (runs > 1 && this.#unclean() === c.at.unclean) throw new Error(`idempotent call ${c.token} ran twice with no worker lost since it was submitted`)
      if (!c.settled) continue
      if (c.error === undefined) this.#checkValue(c, runs)
      else this.#checkError(c)
    }
  }

  #checkValue(c: CallRecord, runs: number): void {
    if (c.submittedAfterClose) throw new Error(`call ${c.token} submitted after close succeeded`)
    if (c.kind === "work") {
      if (c.value !== `r${c.token}`) throw new Error(`call ${c.token} got ${JSON.stringify(c.value)}, not r${c.token}`)
      if (runs < 1) throw new Error(`call ${c.token} succeeded without its handler running`)
      return
    }
    if (c.kind !== "stream") throw new Error(`${c.kind} call ${c.token} succeeded with ${JSON.stringify(c.value)}`)
    const expected = Array.from({ length: c.breakAt === undefined ? c.n : Math.min(c.n, c.breakAt) }, (_, i) => `${c.token}:${i}`)
    if (JSON.stringify(c.items) !== JSON.stringify(expected)) throw new Error(`stream ${c.token} gave ${JSON.stringify(c.items)}, expected ${JSON.stringify(expected)}`)
  }

  /** Processes that ended other than by an ordered stop the pool asked for: crashes, kills, a SIGTERM from outside. */
  #unclean(): number {
    return this.fake.processes.filter((p) => p.exit !== null && (p.exit.code !== 0 || this.#terminated.has(p))).length
  }

  /** Garbage may have been written since `c` was submitted: a command, or a `bad` call not settled by then. */
  #garbageSince(c: CallRecord): boolean {
    return this.#garbage > c.at.garbage || this.calls.some((b) => b.kind === "bad" && (!b.settled || b.settledAt > c.token))
  }

  #checkError(c: CallRecord): void {
    const e = c.error
    const waited = this.#clock - c.at.clock
    const allowed =
      (e instanceof PoolClosedError && this.closed) ||
      (e instanceof CallTimeoutError && c.timeoutMs !== undefined && waited >= c.timeoutMs) ||
      (e instanceof AbortError && c.aborted) ||
      (e instanceof SessionAffinityError && c.affinity === "strict") ||
      (e instanceof QueueFullError && c.at.queued >= this.shape.maxQueue) ||
      (e instanceof CheckoutTimeoutError && !c.submittedAfterClose && waited >= TIMEOUTS.checkoutMs) ||
      // Only a process that ended badly, and that the pool had not yet heard of when the call was submitted, can fail it.
      (e instanceof WorkerCrashedError && this.#unclean() > c.at.unclean) ||
      (e instanceof ProtocolError && this.#garbageSince(c))
    if (!allowed) throw new Error(`call ${c.token} (${c.kind}) failed with an error the model does not allow: ${String((e as Error)?.stack ?? e)}`)
    if (c.submittedAfterClose && !(e instanceof PoolClosedError)) throw new Error(`call ${c.token} submitted after close failed with ${String(e)}`)
  }

  /**
   * Quiescence: every held call released and the clock advanced until nothing is left to happen.
   * Then no job is lost (every call settled) and the pool is back to `size` live workers.
   */
  async settle(): Promise<void> {
    for (let i = 0; i < 80; i++) {
      for (let j = 0; j < this.calls.length; j++) this.release(j)
      if (this.#quiet()) return this.checkAnswers()
      await this.advance(250)
    }
    const lost = this.calls.filter((c) => !c.settled).map((c) => `${c.token}(${c.kind})`)
    const snapshot = this.#pool.snapshot()
    throw new Error(`not quiescent after 20 s of clock: unsettled ${lost.join(", ") || "none"}; ${this.fake.alive.length} alive, ` +
      `workers ${JSON.stringify(snapshot.workers.map((w) => [w.id, w.state]))}, queued ${snapshot.queued}, size ${this.shape.size}`)
  }

  #quiet(): boolean {
    const snapshot = this.#pool.snapshot()
    return this.calls.every((c) => c.settled) &&
      snapshot.queued === 0 &&
      this.fake.alive.length === this.shape.size &&
      snapshot.workers.length === this.shape.size &&
      snapshot.workers.every((w) => w.state === "ready")
  }

  /** Closes the pool; then every call has settled, no fake process is alive, and no timer fires any more. */
  async close(): Promise<void> {
    this.closed = true
    let done = false
    void this.#pool.close().then(() => (done = true))
    for (let i = 0; i < 40 && !done; i++) {
      // Held calls outlive the grace (SIGTERM at 200 ms) and end before the kill (400 ms).
      if (i >= 3) for (let j = 0; j < this.calls.length; j++) this.release(j)
      await this.advance(100)
    }
    if (!done) throw new Error("close did not finish")
    await turns()
    const unsettled = this.calls.filter((c) => !c.settled)
    if (unsettled.length > 0) throw new Error(`closed with calls unsettled: ${unsettled.map((c) => c.token).join(", ")}`)
    if (this.fake.alive.length > 0) throw new Error(`closed with ${this.fake.alive.length} fake process(es) alive`)
    if (this.#pool.snapshot().state !== "closed") throw new Error(`closed pool is ${this.#pool.snapshot().state}`)
    this.checkAnswers()
    // Nothing left armed: a day of clock starts no process and changes no call.
    const before = JSON.stringify([this.fake.processes.length, this.calls.map((c) => [c.settles, String(c.error), c.items.length])])
    await this.advance(86_400_000)
    const after = JSON.stringify([this.fake.processes.length, this.calls.map((c) => [c.settles, String(c.error), c.items.length])])
    if (before !== after) throw new Error(`something ran after close: ${before} → ${after}`)
  }
}

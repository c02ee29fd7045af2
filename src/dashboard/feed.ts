/**
 * The dashboard's live feed: what the page shows (every worker's current state and recent
 * transitions, the pool's state, queue, latencies, restarts, the last crash), kept from the pool's
 * own events and snapshot, and pushed to each open page as server-sent events. The pool is not
 * asked for anything per call: the feed hears lifecycle events, and reads the snapshot once a
 * second while a page is open.
 * @module
 */
import type { ServerResponse } from "node:http"
import type { PoolEvents } from "../pool/events.ts"
import type { PoolSnapshot } from "../pool/snapshot.ts"

/** @internal what the dashboard needs from a pool. */
export interface DashboardSource {
  readonly snapshot: () => PoolSnapshot
  readonly on: <K extends keyof PoolEvents & string>(event: K, listener: (event: PoolEvents[K]) => void) => () => void
  /** Kills or recycles a worker; a message saying why not, or null when done. */
  readonly control: (workerId: string, action: "kill" | "recycle") => string | null
}

/**
 * The last crash, as the page shows it.
 *
 * @example
 * ```ts
 * const crash: CrashView = { workerId: "w1", pid: 4242, at: "2026-01-01T00:00:00.000Z", message: "worker w1 (pid 4242) killed by SIGKILL", stderrTail: "" }
 * ```
 */
export interface CrashView {
  readonly workerId: string
  readonly pid: number | null
  readonly at: string
  readonly message: string
  readonly stderrTail: string
}

/**
 * One worker as the page shows it: `state` is the machine's (a crashed incarnation stays `crashed`
 * until its replacement spawns), `recent` its last transitions, newest last.
 *
 * @example
 * ```ts
 * const w: WorkerView = { id: "w1", pid: 4242, state: "ready", calls: 3, inFlight: 0, restarts: 0, recycled: 0, rss: null, overflow: false, recent: ["initializing → ready"] }
 * ```
 */
export interface WorkerView extends Omit<PoolSnapshot["workers"][number], "state"> {
  readonly state: string
  readonly recent: ReadonlyArray<string>
}

/**
 * What every `state` message carries.
 *
 * @example
 * ```ts
 * const view: DashboardView = { pool: "ready", queued: 0, metrics, workers: [], lastCrash: null, controls: false }
 * ```
 */
export interface DashboardView {
  readonly pool: string
  readonly queued: number
  readonly metrics: PoolSnapshot["metrics"]
  readonly workers: ReadonlyArray<WorkerView>
  readonly lastCrash: CrashView | null
  readonly controls: boolean
}

const RECENT = 8

/**
 * A worker kept busy by its queue flips ready ⇄ busy over and over: one line counts the flips
 * (`ready ⇄ busy ×12`) instead of pushing its other transitions out of the list.
 */
const toAndFro = (last: string | undefined, line: string): string | null => {
  const [from, to] = line.split(" → ")
  if (last === undefined || to === undefined) return null
  if (last === `${to} → ${from}`) return `${to} ⇄ ${from} ×2`
  const flips = /^(.+) ⇄ (.+) ×(\d+)$/.exec(last)
  if (flips === null) return null
  const [, a, b, n] = flips
  return (a === from && b === to) || (a === to && b === from) ? `${a} ⇄ ${b} ×${Number(n) + 1}` : null
}
const TICK_MS = 1_000
const COALESCE_MS = 50

/** @internal the feed of one dashboard. */
export class Feed {
  readonly #source: DashboardSource
  readonly #controls: boolean
  readonly #clients = new Set<ServerResponse>()
  readonly #states = new Map<string, string>()
  readonly #recent = new Map<string, Array<string>>()
  readonly #unsubscribe: ReadonlyArray<() => void>
  #lastCrash: CrashView | null = null
  #tick: NodeJS.Timeout | null = null
  #soon: NodeJS.Timeout | null = null

  constructor(source: DashboardSource, controls: boolean) {
    this.#source = source
    this.#controls = controls
    this.#unsubscribe = [
      source.on("worker", (event) => this.#worker(event)),
      source.on("pool", () => this.#viewSoon()),
      source.on("recycle", (event) => this.#note(event.workerId, `recycled: ${event.reason}`))
    ]
  }

  /** Everything the page shows, now. */
  view(): DashboardView {
    const snap = this.#source.snapshot()
    return {
      pool: snap.state,
      queued: snap.queued,
      metrics: snap.metrics,
      workers: snap.workers.map((w) => ({
        ...w,
        state: w.state === "none" ? this.#states.get(w.id) ?? "none" : w.state,
        recent: this.#recent.get(w.id) ?? []
      })),
      lastCrash: this.#lastCrash,
      controls: this.#controls
    }
  }

  /** Starts streaming to a page: the whole view at once, then every change. */
  attach(response: ServerResponse): void {
    response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive" })
    this.#clients.add(response)
    response.on("close", () => {
      this.#clients.delete(response)
      if (this.#clients.size === 0 && this.#tick !== null) {
        clearInterval(this.#tick)
        this.#tick = null
      }
    })
    this.#send(response, "state", this.view())
    // Metrics (latencies, queue) change per call, which the feed does not hear: read them once a second.
    this.#tick ??= setInterval(() => this.#broadcast("state", () => this.view()), TICK_MS).unref()
  }

  /** Ends every stream and stops listening to the pool. */
  close(): void {
    for (const off of this.#unsubscribe) off()
    if (this.#tick !== null) clearInterval(this.#tick)
    if (this.#soon !== null) clearTimeout(this.#soon)
    this.#tick = null
    this.#soon = null
    for (const client of this.#clients) client.end()
    this.#clients.clear()
  }

  #worker(event: PoolEvents["worker"]): void {
    if (event.type === "state") {
      this.#states.set(event.workerId, event.state)
      this.#note(event.workerId, `${event.previous} → ${event.state}`, false)
      this.#broadcast("transition", () => ({ workerId: event.workerId, pid: event.pid, from: event.previous, to: event.state }))
    } else if (event.error !== null) {
      const stderrTail = (event.error as { readonly stderrTail?: unknown }).stderrTail
      this.#lastCrash = {
        workerId: event.workerId,
        pid: event.pid,
        at: new Date().toISOString(),
        message: event.error.message.split("\n")[0] ?? "",
        stderrTail: typeof stderrTail === "string" ? stderrTail : ""
      }
    }
    this.#viewSoon()
  }

  #note(workerId: string, line: string, broadcast = true): void {
    const list = this.#recent.get(workerId) ?? []
    const merged = toAndFro(list[list.length - 1], line)
    if (merged === null) list.push(line)
    else list[list.length - 1] = merged
    if (list.length > RECENT) list.shift()
    this.#recent.set(workerId, list)
    if (broadcast) this.#viewSoon()
  }

  /**
   * The whole view, once for a burst of events: a worker kept saturated flips ready ⇄ busy many
   * times a second, and each flip must not cost a snapshot and a page-sized message per page.
   */
  #viewSoon(): void {
    if (this.#clients.size === 0 || this.#soon !== null) return
    this.#soon = setTimeout(() => {
      this.#soon = null
      this.#broadcast("state", () => this.view())
    }, COALESCE_MS).unref()
  }

  /** Sends to every open page; with none open, the data is not even computed. */
  #broadcast(event: string, data: () => unknown): void {
    if (this.#clients.size === 0) return
    const value = data()
    for (const client of this.#clients) this.#send(client, event, value)
  }

  #send(client: ServerResponse, event: string, data: unknown): void {
    client.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }
}

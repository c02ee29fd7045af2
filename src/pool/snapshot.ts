/** What `pool.snapshot()` returns. */
import type { WorkerStateValue } from "../machines/worker.ts"
import type { PoolStateValue } from "../machines/pool.ts"
import type { Slot } from "./slots.ts"
import type { PythonResolution } from "../actors/resolve-python.ts"

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  readonly count: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

/** One worker slot. */
export interface WorkerSnapshot {
  readonly id: string
  readonly pid: number | null
  /** `none` while the slot waits for a (re)start. */
  readonly state: WorkerStateValue | "none"
  /** Calls answered by the current incarnation. */
  readonly calls: number
  /** Calls sent to it and not answered yet (running, or prefetched and waiting in Python). */
  readonly inFlight: number
  readonly restarts: number
  readonly recycled: number
  /** Resident memory in bytes at the last reading, or null. */
  readonly rss: number | null
  /**
   * Proportional set size in bytes at the same reading (pages shared with N processes count 1/N),
   * or null (not Linux). Workers forked from one zygote (`startMethod: "forkserver"`) share their
   * imports: their PSS is well below their RSS.
   */
  readonly pss: number | null
  readonly overflow: boolean
}

/** The whole pool. */
export interface PoolSnapshot {
  readonly state: PoolStateValue
  /** The interpreter the workers run: `requested` resolved once to `executable` (see `worker.resolvePython`). */
  readonly python: PythonResolution
  readonly workers: ReadonlyArray<WorkerSnapshot>
  readonly queued: number
  readonly metrics: {
    readonly checkoutWaitMs: LatencySummary
    readonly callDurationMs: LatencySummary
    /** Fraction of worker time spent busy since the pool started. */
    readonly utilization: number
  }
}

/** @internal */
export const snapshotOf = (slots: ReadonlyArray<Slot>, queued: number, state: PoolStateValue, python: PythonResolution, metrics: PoolSnapshot["metrics"]): PoolSnapshot => ({
  python,
  state,
  workers: slots.map((s) => ({
    id: s.id,
    pid: s.worker?.pid ?? null,
    state: s.worker?.state ?? "none",
    calls: s.worker?.served ?? 0,
    inFlight: s.worker?.inFlight ?? 0,
    restarts: s.restarts,
    recycled: s.recycled,
    rss: s.worker?.lastRssBytes ?? null,
    pss: s.worker?.lastPssBytes ?? null,
    overflow: s.overflow
  })),
  queued,
  metrics
})

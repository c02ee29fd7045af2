// Percentiles and formatting shared by the benches.
import { readFileSync } from "node:fs"
import { loadavg } from "node:os"

/** Summary of round-trip samples in nanoseconds. */
export interface Summary {
  readonly p50: number
  readonly p99: number
  readonly perSecond: number
}

/**
 * A non-empty list sorted once, read at quantile `q` by the rank rule every bench uses: the value at
 * index floor(q * n), capped at the last (so q = 1 is the maximum).
 * @example const at = quantiles(samples); console.log(at(0.5), at(0.99))
 */
export const quantiles = (values: ReadonlyArray<number>): ((q: number) => number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** Summarises samples (ns) taken back to back over `wallNs`. */
export const summarise = (samples: Array<number>, wallNs: number): Summary => {
  const at = quantiles(samples)
  return { p50: at(0.5), p99: at(0.99), perSecond: samples.length / (wallNs / 1e9) }
}

/** Microseconds with one decimal. */
export const us = (ns: number): string => (ns / 1000).toFixed(1)

/** Prints rows as an aligned table. */
export const table = (rows: Array<Array<string>>): void => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd())
}

/** Median of a non-empty list. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Milliseconds with `digits` decimals. */
export const ms = (value: number, digits = 0): string => value.toFixed(digits)

/** Min-max of a non-empty list, with `digits` decimals: how far the rounds spread. */
export const spread = (values: ReadonlyArray<number>, digits = 0): string =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`

/** The 1, 5 and 15 minute load averages, as /proc/loadavg prints them. */
export const load = (): string => {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  } catch {
    return loadavg().map((l) => l.toFixed(2)).join(" ")
  }
}

/** One line of the targets table: what was aimed at, what this run measured, and whether it was met. */
export interface Target {
  readonly name: string
  readonly target: string
  readonly ours: string
  /** `undefined`: could not be measured in this run (`ours` says why). */
  readonly met: boolean | undefined
}

/** "met", "MISSED", or "not available". */
export const verdict = (met: boolean | undefined): string => met === undefined ? "not available" : met ? "met" : "MISSED"

/**
 * Runs every side `rounds` times, interleaved: each round runs all sides once, in an order that is
 * reversed every other round, so drift and order effects fall on all sides alike. Returns each
 * side's per-round results, in round order.
 */
export const interleaved = async <K extends string>(
  rounds: number,
  sides: Readonly<Record<K, () => Promise<number>>>
): Promise<Record<K, Array<number>>> => {
  const keys = Object.keys(sides) as Array<K>
  const results = Object.fromEntries(keys.map((k) => [k, [] as Array<number>])) as Record<K, Array<number>>
  for (let r = 0; r < rounds; r++) {
    for (const key of r % 2 === 0 ? keys : [...keys].reverse()) results[key].push(await sides[key]())
  }
  return results
}

/** Calls per second, and this process's CPU (user + system) per call in microseconds. */
export interface Rate {
  readonly perSecond: number
  readonly cpuUsPerCall: number
}

/** `callers` concurrent callers running `call` back to back for `durationMs`. */
export const callsPerSecond = async (call: () => Promise<unknown>, callers: number, durationMs: number): Promise<Rate> => {
  let calls = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const end = t0 + durationMs
  await Promise.all(Array.from({ length: callers }, async () => {
    while (performance.now() < end) {
      await call()
      calls++
    }
  }))
  const elapsed = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { perSecond: calls / (elapsed / 1000), cpuUsPerCall: (cpu.user + cpu.system) / calls }
}

// Percentiles and formatting shared by the benches.

/** Summary of round-trip samples in nanoseconds. */
export interface Summary {
  readonly p50: number
  readonly p99: number
  readonly perSecond: number
}

/** Summarises samples (ns) taken back to back over `wallNs`. */
export const summarise = (samples: Array<number>, wallNs: number): Summary => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
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

/**
 * What `pyvisor doctor` found, and how it is shown: one line per check (plain text, aligned), or
 * the same as JSON for tools. A `fail` is a blocking problem and makes the command exit with 1.
 * @module
 */

/**
 * How a check came out: `fail` blocks (the pool would not work), `warn` works but costs, `info` is for the record.
 *
 * @example
 * ```ts
 * const status: CheckStatus = "warn"
 * ```
 */
export type CheckStatus = "ok" | "warn" | "fail" | "info"

/**
 * One check's outcome.
 *
 * @example
 * ```ts
 * const check: Check = { id: "node", status: "ok", summary: "Node 24.1.0 (pyvisor needs ≥ 22.19)", details: [], data: { version: "24.1.0" } }
 * ```
 */
export interface Check {
  readonly id: string
  readonly status: CheckStatus
  /** One line. */
  readonly summary: string
  /** More lines, shown indented under the summary. */
  readonly details: ReadonlyArray<string>
  /** The facts behind it, for `--json`. */
  readonly data: Readonly<Record<string, unknown>>
}

/**
 * Everything doctor found; `ok` is false when any check failed.
 *
 * @example
 * ```ts
 * const report: DoctorReport = { ok: true, checks: [] }
 * ```
 */
export interface DoctorReport {
  readonly ok: boolean
  readonly checks: ReadonlyArray<Check>
}

/**
 * A check, with `details` and `data` defaulting to empty.
 *
 * @example
 * ```ts
 * check("fork-server", "ok", "available (linux)")
 * ```
 */
export const check = (id: string, status: CheckStatus, summary: string, details: ReadonlyArray<string> = [], data: Readonly<Record<string, unknown>> = {}): Check =>
  ({ id, status, summary, details, data })

/**
 * The report of `checks`.
 *
 * @example
 * ```ts
 * reportOf([check("node", "fail", "Node 20.1.0: pyvisor needs ≥ 22.19")]).ok // false
 * ```
 */
export const reportOf = (checks: ReadonlyArray<Check>): DoctorReport => ({ ok: checks.every((c) => c.status !== "fail"), checks })

const MARK: Readonly<Record<CheckStatus, string>> = { ok: "ok", warn: "warn", fail: "FAIL", info: "info" }

/**
 * The report as text: `<status> <check> <summary>`, details indented under it, and a last line
 * counting the blocking problems and warnings.
 *
 * @example
 * ```ts
 * io.out(renderText(report))
 * ```
 */
export const renderText = (report: DoctorReport): string => {
  const idWidth = Math.max(...report.checks.map((c) => c.id.length))
  const lines = ["pyvisor doctor", ""]
  for (const c of report.checks) {
    lines.push(`${MARK[c.status].padEnd(4)}  ${c.id.padEnd(idWidth)}  ${c.summary}`)
    for (const d of c.details) lines.push(`${" ".repeat(idWidth + 8)}${d}`)
  }
  const fails = report.checks.filter((c) => c.status === "fail").length
  const warns = report.checks.filter((c) => c.status === "warn").length
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`
  lines.push("", fails === 0 ? `No blocking problem; ${plural(warns, "warning")}.` : `${plural(fails, "blocking problem")}, ${plural(warns, "warning")}.`)
  return lines.join("\n") + "\n"
}

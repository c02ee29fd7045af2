/**
 * `pyvisor doctor [--module m] [--cwd dir] [--python path] [--redis url] [--json]`: why workers
 * start slowly or fail, before a pool is made. Checks run with the environment and directory
 * workers would get; the exit code is 1 when a check found a blocking problem.
 * @module
 */
import { resolve } from "node:path"
import { forkServerCheck, nodeCheck, pythonChecks, redisCheck } from "./doctor-checks.ts"
import { renderText, reportOf } from "./doctor-report.ts"
import type { Check, DoctorReport } from "./doctor-report.ts"
import type { CliIo, DoctorCommandOptions } from "./program.ts"

/**
 * Runs every check.
 *
 * @example
 * ```ts
 * const report = await diagnose({ module: ["my_workers"], cwd: "./py", python: "python3", json: false })
 * ```
 */
export const diagnose = async (o: DoctorCommandOptions): Promise<DoctorReport> => {
  const cwd = o.cwd === undefined ? process.cwd() : resolve(o.cwd)
  const checks: Array<Check> = [nodeCheck(process.versions.node)]
  checks.push(...await pythonChecks({ python: o.python, cwd, modules: o.module ?? [] }))
  checks.push(forkServerCheck(process.platform))
  if (o.redis !== undefined) checks.push(await redisCheck(o.redis))
  return reportOf(checks)
}

/**
 * The command: prints the report (text, or JSON with `--json`) and resolves with the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runDoctor({ python: "python3", json: true }, io)
 * ```
 */
export const runDoctor = async (o: DoctorCommandOptions, io: CliIo): Promise<number> => {
  const report = await diagnose(o)
  io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report))
  return report.ok ? 0 : 1
}

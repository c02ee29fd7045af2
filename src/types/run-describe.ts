/**
 * Imports the user's module(s) with the bundled runtime, the way a worker does (the same argv
 * module resolution, `cwd`, PYTHONPATH and environment allowlist), and reads back the description.
 * @module
 */
import { execFile } from "node:child_process"
import { buildEnv } from "../actors/env.ts"
import { RUNTIME_PATH, workerArgs } from "../actors/python-process.ts"
import { parseDescription } from "./description.ts"
import type { Description } from "./description.ts"

/**
 * Which modules to describe, and how to start Python.
 *
 * @example
 * ```ts
 * const source: DescribeSource = { module: ["my_workers"], cwd: "./py", python: "python3" }
 * ```
 */
export interface DescribeSource {
  readonly module: ReadonlyArray<string>
  readonly cwd?: string
  readonly python?: string
}

/** The error text of a failed describe: the end of stderr (the traceback), or the spawn error. */
const why = (error: Error, stderr: string): string => {
  const tail = stderr.trim().split("\n").slice(-20).join("\n")
  return tail || error.message
}

/**
 * Runs `python -m pyvisor_worker --describe --import …` and parses its output. Rejects with the
 * Python traceback when the import fails, or the spawn error when Python cannot start.
 *
 * @example
 * ```ts
 * const description = await describeModules({ module: ["my_workers"], cwd: "./py" })
 * description.handlers.map((h) => h.name) // ["add", ...]
 * ```
 */
export const describeModules = (source: DescribeSource): Promise<Description> => {
  const args = [...workerArgs({ module: source.module }), "--describe"]
  return new Promise((resolve, reject) => {
    execFile(source.python ?? "python3", args, {
      cwd: source.cwd ?? process.cwd(),
      env: buildEnv(process.env, "allowlist", {}, RUNTIME_PATH),
      maxBuffer: 64 * 1024 * 1024,
      windowsHide: true
    }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`could not describe ${source.module.join(", ")}:\n${why(error, stderr)}`))
      try {
        resolve(parseDescription(JSON.parse(stdout)))
      } catch (cause) {
        reject(cause instanceof SyntaxError ? new Error(`pyvisor_worker --describe printed invalid JSON: ${cause.message}`) : cause)
      }
    })
  })
}

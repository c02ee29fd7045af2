// Running the command line from the cli tests: in this process (fast, output captured) or as the
// executable a user runs (a child Node process, for exit statuses).
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { runCli } from "../../src/cli/program.ts"

/** The executable's entry point. */
export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url))

/**
 * Runs the command line in this process, capturing what it writes.
 * @example expect(await cli("diagram")).toEqual({ code: 0, out: toMermaid(workerMachine), err: "" })
 */
export const cli = async (...args: Array<string>): Promise<{ code: number; out: string; err: string }> => {
  let out = ""
  let err = ""
  const code = await runCli(args, { out: (s) => (out += s), err: (s) => (err += s) })
  return { code, out, err }
}

/**
 * Runs the executable (`node src/cli/main.ts ...args`) as a child process: its exit status and output.
 * @example expect((await runMain("diagram", "--format", "gif")).code).toBe(2)
 */
export const runMain = (...args: Array<string>): Promise<{ code: number; stdout: string; stderr: string }> =>
  promisify(execFile)(process.execPath, [MAIN, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr })
  )

/**
 * `pyvisor types --module m [--cwd dir] [--python p] [-o file] [--check]`: imports the module the
 * way a worker does and prints (or writes) the `.d.ts` of its handlers; `--check` compares it with
 * the committed file instead, for CI.
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { dirname } from "node:path"
import { describeModules } from "../types/run-describe.ts"
import { renderTypes } from "../types/render.ts"
import type { CliIo } from "./program.ts"

/**
 * What `pyvisor types` was given.
 *
 * @example
 * ```ts
 * const o: TypesCommandOptions = { module: ["my_workers"], cwd: "./py", out: "src/py-handlers.d.ts", check: false }
 * ```
 */
export interface TypesCommandOptions {
  /** `--module`, split at commas. */
  readonly module: ReadonlyArray<string>
  readonly cwd?: string
  readonly python?: string
  readonly out?: string
  readonly check: boolean
}

/** The first line where `committed` and `generated` differ, for the drift message. */
const firstDifference = (committed: string, generated: string): string => {
  const c = committed.split("\n")
  const g = generated.split("\n")
  for (let i = 0; i < Math.max(c.length, g.length); i++) {
    if (c[i] !== g[i]) return `line ${i + 1}:\n  committed: ${c[i] ?? "(end of file)"}\n  generated: ${g[i] ?? "(end of file)"}`
  }
  return "(no difference)"
}

/**
 * Runs the command; resolves with its exit code (0 done or up to date, 1 drift or failure, 2 usage).
 * Throws when Python cannot describe the module (the command line reports it, exit 1).
 *
 * @example
 * ```ts
 * process.exitCode = await runTypes({ module: ["my_workers"], out: "src/py-handlers.d.ts", check: true }, io)
 * ```
 */
export const runTypes = async (options: TypesCommandOptions, io: CliIo): Promise<number> => {
  if (options.check && options.out === undefined) {
    io.err("error: --check needs -o <file>: the committed .d.ts to compare with\n")
    return 2
  }
  const text = renderTypes(await describeModules({
    module: options.module,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.python === undefined ? {} : { python: options.python })
  }))
  if (options.out === undefined) {
    io.out(text)
    return 0
  }
  if (options.check) {
    const committed = await readFile(options.out, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return null
      throw error
    })
    if (committed === text) {
      io.err(`pyvisor types: ${options.out} is up to date\n`)
      return 0
    }
    io.err(committed === null
      ? `pyvisor types: ${options.out} does not exist; generate it with the same command without --check\n`
      : `pyvisor types: ${options.out} differs from what ${options.module.join(", ")} says; regenerate it (the same command without --check). First difference at ${firstDifference(committed, text)}\n`)
    return 1
  }
  await mkdir(dirname(options.out), { recursive: true })
  await writeFile(options.out, text)
  io.err(`pyvisor types: wrote ${options.out}\n`)
  return 0
}

/**
 * Resolving `worker.python` once per pool. A version manager's shim (pyenv's `python3` is a bash
 * script that works out the version, then execs the real interpreter) costs its start-up on every
 * spawn: measured here, a pool of 4 was ready in 6.75 s through pyenv's shim against 0.34 s with
 * the interpreter itself. So the pool asks the interpreter, once, through the shim and with the
 * worker's own environment and directory, where it really is (`sys.executable`) and what the shim
 * changed in its environment, and spawns that interpreter with those changes from then on.
 */
import { execFile } from "node:child_process"
import { closeSync, openSync, readSync } from "node:fs"
import { delimiter, isAbsolute, join } from "node:path"
import { buildEnv } from "./env.ts"
import type { ProcessSpec } from "./python-process.ts"
import { RUNTIME_PATH } from "./python-process.ts"

/** What the pool found out about its interpreter. */
export interface PythonResolution {
  /** `worker.python` as given (default `python3`). */
  readonly requested: string
  /** The interpreter workers are spawned with: `sys.executable`, or `requested` when not resolved. */
  readonly executable: string
  /** Variables the shim set or changed (pyenv's PATH…), given to every worker. */
  readonly env: Readonly<Record<string, string>>
  /** Why `executable` is `requested`: resolution off, or what went wrong (the spawn will say more). */
  readonly unresolved?: string
}

// The shell's own bookkeeping, which differs between any two processes: not the shim's doing.
const VOLATILE = new Set(["_", "SHLVL", "PWD", "OLDPWD"])

const SCRIPT = "import json, os, sys; sys.stdout.write(json.dumps({'exe': sys.executable, 'env': dict(os.environ)}))"

/** How long the question may take (a shim that prompts or hangs must not hold the pool's start). */
const RESOLVE_TIMEOUT_MS = 30_000

/** Where `name` is found: itself when it has a slash, else the first match on `path`. */
const locate = (name: string, path: string | undefined, cwd: string): string | undefined => {
  if (name.includes("/")) return isAbsolute(name) ? name : join(cwd, name)
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "") continue
    const candidate = join(dir, name)
    if (startsWithShebang(candidate) !== undefined) return candidate
  }
  return undefined
}

/** True for a script (`#!`), false for anything else readable, undefined when it cannot be read. */
const startsWithShebang = (file: string): boolean | undefined => {
  let fd: number | undefined
  try {
    fd = openSync(file, "r")
    const head = Buffer.alloc(2)
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString("latin1") === "#!"
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * Asks `spec.python` where the interpreter is, when it is a script (a shim); an interpreter
 * binary is spawned as it is, without the extra start this costs. Never rejects: when the answer
 * cannot be had, the requested name is kept and its spawn reports the problem as usual.
 *
 * @example
 * ```ts
 * const { executable } = await resolvePython({ module: "m", python: "python3" }) // "/root/.pyenv/versions/3.11.7/bin/python3"
 * ```
 */
export const resolvePython = (spec: ProcessSpec): Promise<PythonResolution> => {
  const requested = spec.python ?? "python3"
  const given = buildEnv(process.env, spec.inheritEnv ?? "allowlist", spec.env ?? {}, RUNTIME_PATH)
  const cwd = spec.cwd ?? process.cwd()
  const found = locate(requested, given["PATH"], cwd)
  if (found !== undefined && startsWithShebang(found) === false) {
    return Promise.resolve({ requested, executable: requested, env: {}, unresolved: `${found} is not a script: spawned as it is` })
  }
  return new Promise((resolve) => {
    const keep = (why: string): void => resolve({ requested, executable: requested, env: {}, unresolved: why })
    const failed = (error: Error): void => keep(`asking ${requested} for sys.executable failed: ${error.message.split("\n")[0]}`)
    const answered = (stdout: string): void => {
      let answer: { exe?: unknown; env?: unknown }
      try {
        answer = JSON.parse(stdout) as { exe?: unknown; env?: unknown }
      } catch {
        return keep(`${requested} did not answer with JSON`)
      }
      if (typeof answer.exe !== "string" || answer.exe.length === 0) return keep(`${requested} has no sys.executable`)
      resolve({ requested, executable: answer.exe, env: changedBy(answer.env, given) })
    }
    try {
      execFile(requested, ["-c", SCRIPT], { cwd, env: given, timeout: RESOLVE_TIMEOUT_MS, windowsHide: true, maxBuffer: 4 << 20 }, (error, stdout) =>
        error ? failed(error) : answered(stdout))
    } catch (error) {
      // An unusable cwd (a file: ENOTDIR) throws at once; the spawn will report it, naming the cwd.
      failed(error as Error)
    }
  })
}

/** The variables of `seen` that differ from those `given`, the shell's own bookkeeping left out. */
const changedBy = (seen: unknown, given: Readonly<Record<string, string>>): Record<string, string> => {
  const env: Record<string, string> = {}
  if (typeof seen !== "object" || seen === null) return env
  for (const [name, value] of Object.entries(seen as Record<string, unknown>)) {
    if (typeof value === "string" && given[name] !== value && !VOLATILE.has(name)) env[name] = value
  }
  return env
}

/**
 * The spec workers are spawned with: the resolved interpreter, and the shim's variables under the
 * user's own `worker.env` (what the user set explicitly wins).
 *
 * @example
 * ```ts
 * const spawnSpec = resolvedSpec(spec, await resolvePython(spec))
 * ```
 */
export const resolvedSpec = (spec: ProcessSpec, resolution: PythonResolution): ProcessSpec =>
  resolution.unresolved !== undefined ? spec : { ...spec, python: resolution.executable, env: { ...resolution.env, ...spec.env } }

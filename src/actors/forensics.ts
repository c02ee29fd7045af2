/**
 * Crash forensics: each worker incarnation gets a file of its own for Python's `faulthandler`,
 * which on SIGSEGV, SIGBUS, SIGFPE, SIGABRT or SIGILL writes the Python stack of every thread
 * there. The host reads it once the process is gone (for `WorkerCrashedError.stack`) and removes it.
 * A file rather than stderr: the dump is not cut by the stderr tail's size nor mixed with user output.
 * @module
 */
import { randomUUID } from "node:crypto"
import { readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * The environment variable naming the file; the runtime creates it (exclusively) at start and
 * removes the variable, so the user's subprocesses do not share the file.
 *
 * @example
 * ```ts
 * const env = { ...buildEnv(process.env, "allowlist", {}, RUNTIME_PATH), [FAULT_FILE_ENV]: faultFilePath() }
 * ```
 */
export const FAULT_FILE_ENV = "PYVISOR_FAULT_FILE"

/** The largest dump kept: faulthandler writes at most 100 frames per thread, so this is plenty. */
const MAX_STACK_BYTES = 64 * 1024

/**
 * A fresh, unguessable path in the temp folder for one incarnation's dump.
 *
 * @example
 * ```ts
 * const file = faultFilePath() // "/tmp/pyvisor-fault-4242-<uuid>.txt"
 * ```
 */
export const faultFilePath = (): string => join(tmpdir(), `pyvisor-fault-${process.pid}-${randomUUID()}.txt`)

/**
 * Reads and removes an incarnation's dump: the Python stacks, or undefined when it wrote none
 * (a clean exit, a SIGKILL, a worker that never started).
 *
 * @example
 * ```ts
 * const stack = takeFaultDump(file) // "Fatal Python error: Segmentation fault\n\nCurrent thread ..."
 * ```
 */
export const takeFaultDump = (file: string): string | undefined => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch {
    return undefined // never created: the process did not get that far
  }
  rmSync(file, { force: true })
  const trimmed = text.trim()
  if (trimmed === "") return undefined
  return trimmed.length > MAX_STACK_BYTES ? `${trimmed.slice(0, MAX_STACK_BYTES)}\n… (truncated)` : trimmed
}

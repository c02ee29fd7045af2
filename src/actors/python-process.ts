/**
 * One Python interpreter running `python -m pyvisor_worker`, spawned by execa with the
 * protocol on fd 3 (host → worker) and fd 4 (worker → host).
 */
import { fileURLToPath } from "node:url"
import type { ChildProcess } from "node:child_process"
import type { Readable, Writable } from "node:stream"
import type { execa as Execa } from "execa"
import { buildEnv } from "./env.ts"
import type { InheritEnv } from "./env.ts"

/** Where the bundled Python runtime lives (the folder holding `pyvisor_worker/`). */
export const RUNTIME_PATH = fileURLToPath(new URL("../../python", import.meta.url))

/** How to start a worker process. */
export interface ProcessSpec {
  /** Module(s) that register handlers: dotted names or paths ending in `.py`. */
  readonly module: string | ReadonlyArray<string>
  readonly python?: string
  readonly pythonArgs?: ReadonlyArray<string>
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  readonly inheritEnv?: InheritEnv
  readonly preload?: ReadonlyArray<string>
  readonly maxFrameBytes?: number
  /** `async def` calls run at once (`--concurrency`); default 1. */
  readonly concurrency?: number
  /** Calls the host may send beyond `concurrency` (host-side only: Python queues them in order). */
  readonly prefetch?: number
  /** The worker's memory limit in MiB (`--max-memory-mb`). */
  readonly maxMemoryMb?: number
  /** Check each call's arguments against the handler's signature (`--validate`). */
  readonly validate?: boolean
}

/** How the process ended. */
export interface ProcessExit {
  readonly code: number | null
  readonly signal: string | null
}

/** A running interpreter. */
export interface PythonProcess {
  readonly pid: number
  readonly toWorker: Writable
  readonly fromWorker: Readable
  readonly stdout: Readable
  readonly stderr: Readable
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>
  /** Sends a signal; false when the process is already gone. */
  kill(signal: NodeJS.Signals): boolean
}

// execa is loaded when the first pool is built, not when pyvisor is imported (~120 ms of imports).
let execa: typeof Execa | undefined

/**
 * Loads the process launcher; `spawnPython` needs it. Pools call it while they start.
 *
 * @example
 * ```ts
 * await loadSpawner()
 * const proc = spawnPython({ module: "my_workers" })
 * ```
 */
export const loadSpawner = async (): Promise<void> => {
  execa ??= (await import("execa")).execa
}

/** A process just started: its spawn error (ENOENT…) arrives instead of its 'spawn' event. */
export type SpawnedProcess = PythonProcess & { readonly spawnError: Promise<Error | null> }

/**
 * Builds the argv after the interpreter.
 *
 * @example
 * ```ts
 * workerArgs({ module: "app.workers" }) // ["-m", "pyvisor_worker", "--import", "app.workers"]
 * ```
 */
export const workerArgs = (spec: ProcessSpec): Array<string> => {
  const modules = typeof spec.module === "string" ? [spec.module] : spec.module
  return [
    ...(spec.pythonArgs ?? []), "-m", "pyvisor_worker",
    ...modules.flatMap((m) => ["--import", m]),
    ...(spec.preload ?? []).flatMap((m) => ["--preload", m]),
    ...(spec.maxFrameBytes === undefined ? [] : ["--max-frame-bytes", String(spec.maxFrameBytes)]),
    ...(spec.concurrency === undefined || spec.concurrency === 1 ? [] : ["--concurrency", String(spec.concurrency)]),
    ...(spec.maxMemoryMb === undefined ? [] : ["--max-memory-mb", String(spec.maxMemoryMb)]),
    ...(spec.validate === true ? ["--validate"] : [])
  ]
}

/**
 * Spawns the interpreter (no shell). Throws synchronously only for invalid arguments;
 * an interpreter that cannot be found surfaces as an exit (code null) with an `error`.
 *
 * @example
 * ```ts
 * const proc = spawnPython({ module: "my_workers", cwd: "./py" })
 * ```
 */
export const spawnPython = (spec: ProcessSpec): SpawnedProcess => {
  if (execa === undefined) throw new Error("pyvisor: loadSpawner() must complete before spawnPython")
  const subprocess = execa(spec.python ?? "python3", workerArgs(spec), {
    cwd: spec.cwd ?? process.cwd(),
    env: buildEnv(process.env, spec.inheritEnv ?? "allowlist", spec.env ?? {}, RUNTIME_PATH),
    extendEnv: false,
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    buffer: false,
    reject: false,
    cleanup: true,
    windowsHide: true
  })
  // execa's escape hatch to the Node ChildProcess, whose 'exit' does not wait for stdio.
  const child: ChildProcess = subprocess.nodeChildProcess
  const fd3 = subprocess.stdio[3] as unknown as Writable
  const fd4 = subprocess.stdio[4] as unknown as Readable
  // 'exit' fires when the process ends even if a grandchild still holds its pipes open.
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }))
    child.once("error", () => resolve({ code: null, signal: null }))
  })
  // ENOENT and the like: 'error' comes instead of 'spawn'.
  const spawnError = new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null))
    child.once("error", (error) => resolve(error))
  })
  // The result itself is not used: exits are read from the 'exit' event above.
  subprocess.catch(() => {})
  // A broken pipe after the worker died is reported by the exit, not as an uncaught error.
  fd3.on("error", () => {})
  fd4.on("error", () => {})
  subprocess.stdout.on("error", () => {})
  subprocess.stderr.on("error", () => {})
  return {
    pid: subprocess.pid ?? -1,
    toWorker: fd3,
    fromWorker: fd4,
    stdout: subprocess.stdout,
    stderr: subprocess.stderr,
    exited,
    spawnError,
    kill: (signal) => subprocess.kill(signal)
  }
}

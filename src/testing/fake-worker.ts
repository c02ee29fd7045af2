/**
 * `fakeWorker(...)`: a `ProcessSpawner` whose processes are scripted workers running in this
 * process (fake-process.ts), speaking protocol v1 as the Python runtime does, so a whole pool can
 * be driven in milliseconds without Python.
 */
import type { ProcessExit, ProcessSpawner } from "../actors/python-process.ts"
import { integer, invalid, keysOf, section, timerMs } from "../options/kit.ts"
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/index.ts"
import type { FakeHandler } from "./fake-call.ts"
import { FakeProcess } from "./fake-process.ts"
import type { FakeBehaviour } from "./fake-process.ts"

/**
 * Options of {@link fakeWorker}. Every behaviour applies to each process the spawner starts
 * (each incarnation of each worker).
 *
 * @example
 * ```ts
 * const options: FakeWorkerOptions = { handlers: { add: ({ a, b }) => a + b }, hangOn: ["stuck"], initDelayMs: 100 }
 * ```
 */
export interface FakeWorkerOptions {
  /** The worker's handlers, by name (what `@handler` registers in Python). */
  readonly handlers: Readonly<Record<string, FakeHandler>>
  /**
   * The process starts `crashAfter` calls, and the next call it starts kills it (exit code 1 unless
   * `{ calls, code | signal }` says otherwise): that call fails with `WorkerCrashedError` (or is
   * retried, if idempotent) and the calls queued behind it run on another worker. Default: never.
   */
  readonly crashAfter?: number | { readonly calls: number; readonly code?: number; readonly signal?: NodeJS.Signals }
  /**
   * Handlers whose calls never answer and wedge the process, like Python stuck in C code holding
   * the GIL: no pongs, `cancel` and SIGTERM ignored; only SIGKILL ends it (a call timeout's cancel
   * grace, the heartbeat, or the stop's `killAfterMs`).
   */
  readonly hangOn?: ReadonlyArray<string>
  /**
   * Handlers that, like sync Python handlers, are not interrupted by a `cancel`: they see
   * `ctx.cancelled` (and `ctx.signal`) and answer when they end; one still running after the pool's
   * `cancelGraceMs` is killed. Other handlers behave as `async def` ones: a cancel ends the call at once.
   */
  readonly ignoreCancel?: ReadonlyArray<string>
  /** Handlers whose calls make the process write bytes no codec decodes on fd 4: a `ProtocolError`, and a restart. */
  readonly garbageOn?: ReadonlyArray<string>
  /** Time between `welcome` and `ready` (importing the user's module), on the pool's clock. Default 0. */
  readonly initDelayMs?: number
  /** The import fails: `ready {status: 'error'}` with this Python exception, then exit 1. */
  readonly initError?: { readonly type: string; readonly message: string }
  /** Codecs offered in `hello`, in order of preference. Default `["msgpack", "json"]` (Python with msgpack). */
  readonly codecs?: ReadonlyArray<"msgpack" | "json">
}

/**
 * A spawner of fake workers, and the processes it started (newest last), for tests to inspect
 * or act on.
 *
 * @example
 * ```ts
 * const fake = fakeWorker({ handlers: { ping: () => "pong" } })
 * const pool = await createPool({ worker: { module: "fake" }, size: 2, spawner: fake })
 * await pool.close()
 * const left = fake.alive.length // 0: nothing outlives the pool
 * ```
 */
export interface FakeSpawner extends ProcessSpawner {
  /** Every process started, in start order. */
  readonly processes: ReadonlyArray<FakeProcess>
  /** Those still running. */
  readonly alive: ReadonlyArray<FakeProcess>
}

const KEYS = keysOf<FakeWorkerOptions>({ handlers: true, crashAfter: true, hangOn: true, ignoreCancel: true, garbageOn: true, initDelayMs: true, initError: true, codecs: true })

const names = (option: string, value: unknown): ReadonlySet<string> => {
  if (value === undefined) return new Set()
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw invalid(option, value, "an array of handler names")
  return new Set(value)
}

const crash = (value: unknown): { readonly calls: number; readonly exit: ProcessExit } => {
  if (value === undefined) return { calls: Infinity, exit: { code: 1, signal: null } }
  if (typeof value === "number") return { calls: integer("crashAfter", value, { min: 0 }), exit: { code: 1, signal: null } }
  const c = section("crashAfter", value, ["calls", "code", "signal"], "a number of calls, or { calls, code } or { calls, signal }")
  const signal = c["signal"]
  if (signal !== undefined && (typeof signal !== "string" || !signal.startsWith("SIG"))) throw invalid("crashAfter.signal", signal, "a signal name such as 'SIGSEGV'")
  return {
    calls: integer("crashAfter.calls", c["calls"], { min: 0 }),
    exit: signal !== undefined ? { code: null, signal: signal as string } : { code: integer("crashAfter.code", c["code"], { min: 0, max: 255, fallback: 1 }), signal: null }
  }
}

const initError = (value: unknown): FakeBehaviour["initError"] => {
  if (value === undefined) return undefined
  const e = section("initError", value, ["type", "message"], "an object like { type: 'ImportError', message: 'no module' }")
  if (typeof e["type"] !== "string" || typeof e["message"] !== "string") throw invalid("initError", value, "{ type: string, message: string }")
  return { type: e["type"], message: e["message"] }
}

const codecs = (value: unknown): ReadonlyArray<string> => {
  if (value === undefined) return ["msgpack", "json"]
  if (!Array.isArray(value) || value.length === 0 || !value.every((c) => c === "msgpack" || c === "json")) throw invalid("codecs", value, "a non-empty array of 'msgpack' and 'json'")
  return value
}

/** Validates `fakeWorker`'s options (InvalidOptionError naming the option). @internal */
export const resolveFake = (options: FakeWorkerOptions): FakeBehaviour => {
  const o = section("", options, KEYS, "an object like { handlers: { add: ({ a, b }) => a + b } }")
  const handlers = section("handlers", o["handlers"], Object.keys((o["handlers"] ?? {}) as object), "an object of handler functions")
  for (const [name, fn] of Object.entries(handlers)) if (typeof fn !== "function") throw invalid(`handlers.${name}`, fn, "a function")
  const { calls, exit } = crash(o["crashAfter"])
  return {
    handlers: handlers as Record<string, FakeHandler>,
    crashAfter: calls,
    crashExit: exit,
    hangOn: names("hangOn", o["hangOn"]),
    ignoreCancel: names("ignoreCancel", o["ignoreCancel"]),
    garbageOn: names("garbageOn", o["garbageOn"]),
    initDelayMs: timerMs("initDelayMs", o["initDelayMs"], { min: 0, fallback: 0 }),
    initError: initError(o["initError"]),
    codecs: codecs(o["codecs"])
  }
}

/**
 * A spawner whose workers are scripted in JavaScript and run in this process: give it as the
 * pool's `spawner` and the whole pool (handshake, calls, streams with credit, cancel, heartbeat,
 * ordered stop, crashes and restarts) runs without Python, in milliseconds. Throws
 * `InvalidOptionError` for bad options.
 *
 * @example
 * ```ts
 * import { createPool } from "pyvisor"
 * import { fakeWorker } from "pyvisor/testing"
 *
 * const pool = await createPool({
 *   worker: { module: "app.workers" },
 *   size: 2,
 *   spawner: fakeWorker({ handlers: { add: ({ a, b }) => a + b }, crashAfter: 100 })
 * })
 * await pool.call("add", { a: 1, b: 2 }) // 3
 * await pool.close()
 * ```
 */
export const fakeWorker = (options: FakeWorkerOptions): FakeSpawner => {
  const behaviour = resolveFake(options)
  const processes: Array<FakeProcess> = []
  const spawner: ProcessSpawner = (spec, context) => {
    const proc = new FakeProcess(behaviour, context, spec.concurrency ?? 1, spec.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
    processes.push(proc)
    return proc
  }
  return Object.defineProperties(spawner, {
    processes: { get: () => processes, enumerable: true },
    alive: { get: () => processes.filter((p) => p.alive), enumerable: true }
  }) as FakeSpawner
}

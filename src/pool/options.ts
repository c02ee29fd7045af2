/**
 * Options of `createPool`, their defaults, and validation (with `src/options/kit.ts`) that
 * names the option and quotes the bad value. Validated once, here: the pool hands the
 * resolved values to the supervisors and timers.
 */
import { availableParallelism } from "node:os"
import type { InheritEnv } from "../actors/env.ts"
import type { Inspector } from "../actors/machine-runner.ts"
import type { ProcessSpawner, ProcessSpec } from "../actors/python-process.ts"
import type { StartMethod } from "../actors/forkserver/supervision.ts"
import { integer, invalid, keysOf, section, timerMs } from "../options/kit.ts"
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/index.ts"
import { DEFAULT_BACKOFF, resolveBackoff } from "../supervisors/backoff.ts"
import type { BackoffOptions, ResolvedBackoff } from "../supervisors/backoff.ts"
import { resolveHeartbeat } from "../supervisors/heartbeat-options.ts"
import type { HeartbeatOptions } from "../supervisors/heartbeat-options.ts"
import { DEFAULT_INTENSITY } from "../supervisors/intensity.ts"
import type { IntensityOptions } from "../supervisors/intensity.ts"
import type { SessionStore } from "../store/index.ts"
import { resolveTelemetry } from "../telemetry/options.ts"
import type { ResolvedTelemetry, TelemetryOptions } from "../telemetry/options.ts"
import type { PoolEvents } from "./events.ts"
import type { HostHandler } from "./host-router.ts"
import type { PoisonPolicy } from "./poison.ts"

/** How to start each Python worker. */
export interface WorkerOptions {
  /** Module(s) whose `@handler`s the worker serves: dotted names, or paths ending in `.py`. */
  readonly module: string | ReadonlyArray<string>
  /** Working directory of the worker (where `module` is looked up). Default: `process.cwd()`. */
  readonly cwd?: string
  /** The interpreter. Default: `python3`. */
  readonly python?: string
  /** Extra interpreter arguments placed before `-m pyvisor_worker`, e.g. `["-X", "dev"]`. */
  readonly pythonArgs?: ReadonlyArray<string>
  /** Variables added to (and overriding) the inherited environment. */
  readonly env?: Readonly<Record<string, string>>
  /** Which host variables the worker inherits. Default `"allowlist"`: exact names (PATH, HOME, LANG, PYTHONPATH, CUDA_VISIBLE_DEVICES…; see `DEFAULT_ENV_ALLOW`), never prefixes. */
  readonly inheritEnv?: InheritEnv
  /** Modules imported before `ready`, e.g. `["numpy"]`, so the first call does not pay for them. */
  readonly preload?: ReadonlyArray<string>
  /**
   * Calls sent to a worker beyond those it runs, so Python never idles between calls. Default 2.
   * A prefetched call whose worker dies before Python started it runs elsewhere, once.
   */
  readonly prefetch?: number
  /** `async def` calls a worker may run at once on its event loop (sync handlers run one at a time). Default 1. */
  readonly concurrency?: number
  /**
   * Memory the kernel lets a worker allocate (MiB), set before any user code runs: past it an
   * allocation fails with `MemoryError` (a `PythonError` for the call; the worker lives on). Linux
   * limits the data segment (`RLIMIT_DATA`: heap and private writable mappings, not address space
   * merely reserved, as CUDA and JAX do); elsewhere the address space (`RLIMIT_AS`). Default: none.
   */
  readonly maxMemoryMb?: number
  /**
   * Ask `python` once, at pool start, for the interpreter it really runs (`sys.executable`) and the
   * variables it sets, and spawn that interpreter directly: a version manager's shim (pyenv…) then
   * costs its start-up once per pool, not once per worker start. Default true; `snapshot().python`
   * shows the outcome.
   */
  readonly resolvePython?: boolean
  /**
   * `"spawn"` (default): each worker is a new interpreter. `"forkserver"`: one zygote per pool
   * imports `module` and `preload` once and forks each worker from it (ready in milliseconds,
   * memory shared copy-on-write); falls back to `"spawn"`, with a warning log event, where fork
   * is unavailable. See docs/forkserver.md.
   */
  readonly startMethod?: StartMethod
}

/** Options of {@link createPool}. */
export interface PoolOptions {
  readonly worker: WorkerOptions
  /** Permanent workers. Default: `os.availableParallelism()`. */
  readonly size?: number
  /** Temporary extra workers started under load, stopped after `idleTimeoutMs` idle. Default 0. */
  readonly overflow?: number
  /** Start workers on the first call instead of in `createPool`. Default false. */
  readonly lazy?: boolean
  /** Workers starting at the same time. Default 8. */
  readonly startConcurrency?: number
  /** Time for a worker to become ready before it is killed. Default 10 000 ms. */
  readonly initTimeoutMs?: number
  /** Longest wait in the queue for a free worker. Default 30 000 ms. */
  readonly checkoutTimeoutMs?: number
  /** Most calls waiting for a worker; one more gets `QueueFullError`. Default 1 000. */
  readonly maxQueue?: number
  /** After a timeout or abort, time for the handler to notice `ctx.cancelled` before its worker is killed. Default 2 000 ms. */
  readonly cancelGraceMs?: number
  /** Idle time after which an overflow worker stops. Default 30 000 ms. */
  readonly idleTimeoutMs?: number
  /**
   * Poison calls: a call that killed `maxWorkerKills` workers (default 2; its idempotent retries and
   * calls with the same `poisonKey` counted together) is refused with `PoisonCallError` for `ttlMs`
   * (default 60 000). `false` turns the rule off.
   */
  readonly poison?: false | { readonly maxWorkerKills?: number; readonly ttlMs?: number }
  /** Replace a worker after this many calls. Default: never. */
  readonly maxCallsPerWorker?: number
  /** Replace a worker whose resident memory exceeds this many MiB (checked every `rssCheckIntervalMs`). Default: never. */
  readonly maxWorkerRssMb?: number
  /** How often worker memory is read. Default 5 000 ms. */
  readonly rssCheckIntervalMs?: number
  /** Replace a worker older than this. Default: never. */
  readonly workerTtlMs?: number
  /** Listeners registered before any worker starts, so an eager pool's `warmup` events can be seen. */
  readonly on?: { readonly [K in keyof PoolEvents]?: (event: PoolEvents[K]) => void }
  /** Largest protocol frame, both directions. Default 64 MiB. */
  readonly maxFrameBytes?: number
  /** Ordered stop: grace after the `shutdown` frame, then SIGTERM, then SIGKILL after `killAfterMs`. */
  readonly shutdown?: { readonly graceMs?: number; readonly killAfterMs?: number }
  /**
   * Restart policy (see docs/supervision.md): more than `maxRestarts` restarts within `withinMs`
   * (default 10 in 60 s) fail the pool; each worker waits `backoff` before it is restarted
   * (default 10 ms doubling to 5 s, jitter 0.2, reset after 30 s up).
   */
  readonly restart?: {
    readonly maxRestarts?: number
    readonly withinMs?: number
    readonly backoff?: Partial<BackoffOptions>
  }
  /**
   * A `ping` every `intervalMs`; `misses` unanswered in a row and the worker is killed and
   * replaced (an interpreter wedged in C code holding the GIL cannot answer). Default
   * 5 000 ms × 3; `false` turns it off.
   */
  readonly heartbeat?: { readonly intervalMs?: number; readonly misses?: number } | false
  /**
   * Host functions workers may call with `ctx.call_host(name, args)`; each gets the args and
   * who is asking (worker, session). Names starting with `pyvisor.` are reserved.
   */
  readonly hostHandlers?: Readonly<Record<string, HostHandler>>
  /**
   * Where sessions and `ctx.store` live. Default: a `memoryStore()` the pool owns and closes.
   * Give a `redisStore(...)` to share sessions and programs between hosts.
   */
  readonly store?: SessionStore
  /**
   * XState's inspection API: an observer (a function, or an object with `next`) of one actor system
   * whose root is the pool machine (`systemId` `pool`) and whose children are the worker
   * incarnations (`systemId` `worker:w1`…; a restarted incarnation re-registers its slot's id).
   * It hears every `@xstate.actor`, `@xstate.event` and `@xstate.snapshot`; works with Stately's
   * inspector (`createBrowserInspector().inspect`). Default: none, and no cost.
   */
  readonly inspect?: Inspector
  /**
   * Starts each worker process. Default: `python -m pyvisor_worker`. Tests give `fakeWorker(...)`
   * from `pyvisor/testing`, which runs a scripted worker in-process (see docs/testing.md).
   */
  readonly spawner?: ProcessSpawner
  /**
   * OpenTelemetry traces and metrics (docs/observability.md): a span per call and per worker start,
   * Python's `ctx.trace` spans under the call's, and the pool's metrics. `true` uses the providers
   * registered with `@opentelemetry/api` (an optional peer dependency, imported at pool start only
   * when this is set); `{ tracerProvider, meterProvider }` uses those. Default: off, and no cost.
   */
  readonly telemetry?: TelemetryOptions
  /**
   * Workers check each call's arguments against the handler's Python signature before running it
   * and reject a mismatch with `InvalidArgumentsError` naming the parameter and the expected type
   * (docs/types.md). Default false: off, calls pay nothing for it.
   */
  readonly validate?: boolean
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  readonly spec: ProcessSpec
  /** `worker.resolvePython`. */
  readonly resolvePython: boolean
  readonly startMethod: StartMethod
  readonly size: number
  readonly overflow: number
  readonly lazy: boolean
  readonly startConcurrency: number
  readonly initTimeoutMs: number
  readonly checkoutTimeoutMs: number
  readonly maxQueue: number
  readonly cancelGraceMs: number
  readonly idleTimeoutMs: number
  readonly poison: PoisonPolicy
  readonly maxCallsPerWorker: number
  readonly maxWorkerRssBytes: number
  readonly rssCheckIntervalMs: number
  readonly workerTtlMs: number
  readonly on: Readonly<Record<string, (event: never) => void>>
  readonly shutdown: { readonly graceMs: number; readonly killAfterMs: number }
  readonly restart: { readonly intensity: IntensityOptions; readonly backoff: ResolvedBackoff }
  readonly heartbeat: HeartbeatOptions | undefined
  readonly hostHandlers: Readonly<Record<string, HostHandler>>
  readonly store: SessionStore | undefined
  readonly inspect: Inspector | undefined
  readonly spawner: ProcessSpawner | undefined
  readonly telemetry: ResolvedTelemetry | undefined
}

/**
 * Kept for `pool.ts`, which imports it from here; new code imports `src/options/kit.ts`.
 * @internal
 */
export { invalid }

const POOL_KEYS = keysOf<PoolOptions>({
  worker: true, size: true, overflow: true, lazy: true, startConcurrency: true, initTimeoutMs: true, checkoutTimeoutMs: true,
  maxQueue: true, cancelGraceMs: true, idleTimeoutMs: true, maxCallsPerWorker: true, maxWorkerRssMb: true, rssCheckIntervalMs: true,
  workerTtlMs: true, on: true, maxFrameBytes: true, shutdown: true, restart: true, heartbeat: true, hostHandlers: true, store: true,
  poison: true, inspect: true, spawner: true, telemetry: true, validate: true
})
const POISON_KEYS = keysOf<Exclude<NonNullable<PoolOptions["poison"]>, false>>({ maxWorkerKills: true, ttlMs: true })

const poison = (value: PoolOptions["poison"]): PoisonPolicy => {
  if (value === false) return { maxWorkerKills: Number.POSITIVE_INFINITY, ttlMs: 0 }
  const o: Readonly<Record<string, unknown>> = value === undefined ? {} : section("poison", value, POISON_KEYS, "false, or an object like { maxWorkerKills: 2, ttlMs: 60000 }")
  return {
    maxWorkerKills: integer("poison.maxWorkerKills", o["maxWorkerKills"], { min: 1, max: 1000, fallback: 2 }),
    ttlMs: integer("poison.ttlMs", o["ttlMs"], { min: 1, fallback: 60_000 })
  }
}
const WORKER_KEYS = keysOf<WorkerOptions>({
  module: true, cwd: true, python: true, pythonArgs: true, env: true, inheritEnv: true, preload: true, prefetch: true, concurrency: true,
  maxMemoryMb: true, resolvePython: true, startMethod: true
})
const SHUTDOWN_KEYS = keysOf<NonNullable<PoolOptions["shutdown"]>>({ graceMs: true, killAfterMs: true })
const RESTART_KEYS = keysOf<NonNullable<PoolOptions["restart"]>>({ maxRestarts: true, withinMs: true, backoff: true })
const BACKOFF_KEYS = keysOf<BackoffOptions>({ initialMs: true, maxMs: true, factor: true, jitter: true, resetAfterMs: true })

const string = (option: string, value: unknown): string => {
  if (typeof value !== "string" || value.length === 0) throw invalid(option, value, "a non-empty string")
  return value
}

const strings = (option: string, value: unknown): ReadonlyArray<string> | undefined => {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw invalid(option, value, "an array of strings")
  value.forEach((item, i) => string(`${option}[${i}]`, item))
  return value
}

const record = (option: string, value: unknown): Readonly<Record<string, string>> | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(option, value, "an object of strings")
  for (const [k, v] of Object.entries(value)) if (typeof v !== "string") throw invalid(`${option}.${k}`, v, "a string")
  return value as Record<string, string>
}

const EVENTS = ["worker", "log", "pool", "ready", "warmup", "exhausted", "recycle", "store"]

const listeners = (value: unknown): Readonly<Record<string, (event: never) => void>> => {
  if (value === undefined) return {}
  if (typeof value !== "object" || value === null) throw invalid("on", value, "an object of event listeners")
  for (const [name, listener] of Object.entries(value)) {
    if (!EVENTS.includes(name)) throw invalid(`on.${name}`, name, `one of the events ${EVENTS.join(", ")}`)
    if (typeof listener !== "function") throw invalid(`on.${name}`, listener, "a function")
  }
  return value as Record<string, (event: never) => void>
}

const restart = (value: unknown): ResolvedOptions["restart"] => {
  if (value === undefined) return { intensity: DEFAULT_INTENSITY, backoff: DEFAULT_BACKOFF }
  const r = section("restart", value, RESTART_KEYS, "an object like { maxRestarts: 10, withinMs: 60000 }")
  const intensity = {
    maxRestarts: integer("restart.maxRestarts", r["maxRestarts"], { min: 0, fallback: DEFAULT_INTENSITY.maxRestarts }),
    // A sliding window compared with restart times, not a timer: may exceed MAX_TIMER_MS.
    withinMs: integer("restart.withinMs", r["withinMs"], { min: 1, fallback: DEFAULT_INTENSITY.withinMs })
  }
  const b = section("restart.backoff", r["backoff"] === undefined ? {} : r["backoff"], BACKOFF_KEYS, "an object like { initialMs: 10, maxMs: 5000 }")
  const given = Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined))
  return { intensity, backoff: resolveBackoff({ ...DEFAULT_BACKOFF, ...given }, "restart.backoff") }
}

const hostHandlers = (value: unknown): Readonly<Record<string, HostHandler>> => {
  if (value === undefined) return {}
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("hostHandlers", value, "an object of functions")
  for (const [name, handler] of Object.entries(value)) {
    if (name.startsWith("pyvisor.")) throw invalid(`hostHandlers.${name}`, name, "a name not starting with 'pyvisor.' (reserved)")
    if (typeof handler !== "function") throw invalid(`hostHandlers.${name}`, handler, "a function")
  }
  return value as Record<string, HostHandler>
}

const STORE_METHODS = ["get", "getIfChanged", "put", "delete", "list", "createSession", "touchSession", "closeSession", "close"]

const store = (value: unknown): SessionStore | undefined => {
  if (value === undefined) return undefined
  const missing = typeof value === "object" && value !== null ? STORE_METHODS.filter((m) => typeof (value as Record<string, unknown>)[m] !== "function") : STORE_METHODS
  if (missing.length > 0) throw invalid("store", value, `a SessionStore such as memoryStore() or redisStore(...) (missing ${missing.join(", ")})`)
  return value as SessionStore
}

const inspector = (value: unknown): Inspector | undefined => {
  if (value === undefined || typeof value === "function") return value as Inspector | undefined
  if (typeof value === "object" && value !== null && typeof (value as { next?: unknown }).next === "function") return value as Inspector
  throw invalid("inspect", value, "a function or an observer object with a next(event) method")
}

const spawner = (value: unknown): ProcessSpawner | undefined => {
  if (value !== undefined && typeof value !== "function") throw invalid("spawner", value, "a function (spec, context) => process, such as fakeWorker(...) from pyvisor/testing")
  return value as ProcessSpawner | undefined
}

const MODULE = /^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)*$/

const worker = (value: unknown, maxFrameBytes: number, validate: boolean): ProcessSpec => {
  const w = section("worker", value, WORKER_KEYS, "an object like { module: 'my_workers' }")
  const modules = typeof w["module"] === "string" ? [w["module"]] : strings("worker.module", w["module"])
  if (modules === undefined || modules.length === 0) throw invalid("worker.module", w["module"], "a module name or a .py path")
  for (const m of modules) {
    if (!m.endsWith(".py") && !MODULE.test(m)) throw invalid("worker.module", m, "a dotted module name or a path ending in .py")
  }
  if (w["resolvePython"] !== undefined && typeof w["resolvePython"] !== "boolean") throw invalid("worker.resolvePython", w["resolvePython"], "a boolean")
  const inherit = w["inheritEnv"]
  if (inherit !== undefined && !["allowlist", "all", "none"].includes(inherit as string)) strings("worker.inheritEnv", inherit)
  const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : { [key]: v }) as { [P in K]?: V }
  return {
    module: modules,
    maxFrameBytes,
    ...opt("cwd", w["cwd"] === undefined ? undefined : string("worker.cwd", w["cwd"])),
    ...opt("python", w["python"] === undefined ? undefined : string("worker.python", w["python"])),
    ...opt("pythonArgs", strings("worker.pythonArgs", w["pythonArgs"])),
    ...opt("env", record("worker.env", w["env"])),
    ...opt("inheritEnv", inherit as InheritEnv | undefined),
    ...opt("preload", strings("worker.preload", w["preload"])),
    concurrency: integer("worker.concurrency", w["concurrency"], { min: 1, max: 1024, fallback: 1 }),
    prefetch: integer("worker.prefetch", w["prefetch"], { min: 0, max: 1024, fallback: 2 }),
    ...opt("maxMemoryMb", w["maxMemoryMb"] === undefined ? undefined : integer("worker.maxMemoryMb", w["maxMemoryMb"], { min: 32, max: 16 * 1024 * 1024, fallback: 0 })),
    ...opt("validate", validate ? true : undefined)
  }
}

const startMethod = (w: WorkerOptions): StartMethod => {
  const method = w.startMethod ?? "spawn"
  if (method !== "spawn" && method !== "forkserver") throw invalid("worker.startMethod", method, "\"spawn\" or \"forkserver\"")
  return method
}

/**
 * Validates options and applies defaults.
 *
 * @example
 * ```ts
 * resolveOptions({ worker: { module: "m" }, size: 0 }) // throws InvalidOptionError: size must be an integer from 1 to 1024, got 0
 * ```
 */
export const resolveOptions = (options: PoolOptions): ResolvedOptions => {
  section("", options, POOL_KEYS)
  const maxFrameBytes = integer("maxFrameBytes", options.maxFrameBytes, { min: 1024, max: 2 ** 32 - 1, fallback: DEFAULT_MAX_FRAME_BYTES })
  const shutdown: Readonly<Record<string, unknown>> = options.shutdown === undefined ? {} : section("shutdown", options.shutdown, SHUTDOWN_KEYS, "an object like { graceMs: 5000, killAfterMs: 2000 }")
  if (options.lazy !== undefined && typeof options.lazy !== "boolean") throw invalid("lazy", options.lazy, "a boolean")
  if (options.validate !== undefined && typeof options.validate !== "boolean") throw invalid("validate", options.validate, "a boolean")
  const never = Number.POSITIVE_INFINITY
  return {
    spec: worker(options.worker, maxFrameBytes, options.validate === true),
    resolvePython: (options.worker as { resolvePython?: boolean } | undefined)?.resolvePython ?? true,
    startMethod: startMethod(options.worker),
    size: integer("size", options.size, { min: 1, max: 1024, fallback: availableParallelism() }),
    overflow: integer("overflow", options.overflow, { min: 0, max: 1024, fallback: 0 }),
    lazy: options.lazy ?? false,
    startConcurrency: integer("startConcurrency", options.startConcurrency, { min: 1, max: 1024, fallback: 8 }),
    initTimeoutMs: timerMs("initTimeoutMs", options.initTimeoutMs, { min: 1, fallback: 10_000 }),
    checkoutTimeoutMs: timerMs("checkoutTimeoutMs", options.checkoutTimeoutMs, { min: 1, fallback: 30_000 }),
    maxQueue: integer("maxQueue", options.maxQueue, { min: 0, fallback: 1_000 }),
    cancelGraceMs: timerMs("cancelGraceMs", options.cancelGraceMs, { min: 0, fallback: 2_000 }),
    idleTimeoutMs: timerMs("idleTimeoutMs", options.idleTimeoutMs, { min: 1, fallback: 30_000 }),
    poison: poison(options.poison),
    maxCallsPerWorker: integer("maxCallsPerWorker", options.maxCallsPerWorker, { min: 1, fallback: never }),
    maxWorkerRssBytes: integer("maxWorkerRssMb", options.maxWorkerRssMb, { min: 1, fallback: never }) * 1024 * 1024,
    rssCheckIntervalMs: timerMs("rssCheckIntervalMs", options.rssCheckIntervalMs, { min: 10, fallback: 5_000 }),
    // Compared with a worker's age, not armed as a timer: may exceed MAX_TIMER_MS.
    workerTtlMs: integer("workerTtlMs", options.workerTtlMs, { min: 1, fallback: never }),
    on: listeners(options.on),
    shutdown: {
      graceMs: timerMs("shutdown.graceMs", shutdown["graceMs"], { min: 0, fallback: 5_000 }),
      killAfterMs: timerMs("shutdown.killAfterMs", shutdown["killAfterMs"], { min: 0, fallback: 2_000 })
    },
    restart: restart(options.restart),
    heartbeat: resolveHeartbeat(options.heartbeat),
    hostHandlers: hostHandlers(options.hostHandlers),
    store: store(options.store),
    inspect: inspector(options.inspect),
    spawner: spawner(options.spawner),
    telemetry: resolveTelemetry(options.telemetry)
  }
}

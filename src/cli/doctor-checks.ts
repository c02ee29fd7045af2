/**
 * The checks of `pyvisor doctor`, each a plain function of what it looks at: the Node version,
 * the interpreter workers would run (after `worker.resolvePython`, with the workers' environment
 * and directory) and what it has, the module's import, standard-library names shadowed by files in
 * `cwd`, the variables that reach workers, the fork server's platform, and a Redis URL.
 * @module
 */
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import type { Redis } from "ioredis"
import { buildEnv } from "../actors/env.ts"
import { RUNTIME_PATH } from "../actors/python-process.ts"
import { resolvePython } from "../actors/resolve-python.ts"
import type { PythonResolution } from "../actors/resolve-python.ts"
import { MINIMUM_NODE, nodeVersionAtLeast } from "../node-version.ts"
import { check } from "./doctor-report.ts"
import type { Check } from "./doctor-report.ts"
import { FACTS_SCRIPT, IMPORT_SCRIPT, importOutcome, runPython } from "./doctor-python.ts"
import type { PythonFacts, PythonRun } from "./doctor-python.ts"

/** An import slower than this is worth a warning: every worker start (and restart) pays it. */
const SLOW_IMPORT_MS = 1_000
/** The pool's default `initTimeoutMs`: a worker not ready by then is killed. */
const INIT_TIMEOUT_MS = 10_000
/** Measured here (Python 3.11, encode + decode in the worker): what the JSON fallback costs against msgpack. */
const JSON_COST = "about 3-4x msgpack's encode+decode time for ordinary values (microseconds on a small call), ~100x for binary data, which travels base64 (+33% bytes)"

const ms = (n: number): string => `${Math.round(n)} ms`

/** Runs the interpreter given with the workers' directory and environment (pythonChecks binds them). */
type Run = (python: string, args: ReadonlyArray<string>) => Promise<PythonRun>

/**
 * Node against the `engines` minimum.
 *
 * @example
 * ```ts
 * nodeCheck("20.11.0").status // "fail"
 * ```
 */
export const nodeCheck = (version: string): Check =>
  nodeVersionAtLeast(version)
    ? check("node", "ok", `Node ${version} (pyvisor needs ≥ ${MINIMUM_NODE})`, [], { version, minimum: MINIMUM_NODE })
    : check("node", "fail", `Node ${version}: pyvisor needs ≥ ${MINIMUM_NODE}`, [], { version, minimum: MINIMUM_NODE })

/**
 * Whether the fork server's platform is this one (it forks workers from a warm interpreter: POSIX only).
 *
 * @example
 * ```ts
 * forkServerCheck("win32").status // "info"
 * ```
 */
export const forkServerCheck = (platform: NodeJS.Platform): Check =>
  platform === "linux" || platform === "darwin"
    ? check("fork-server", "ok", `available (${platform})`, [], { available: true, platform })
    : check("fork-server", "info", `not available on ${platform}: every worker start spawns an interpreter`, [], { available: false, platform })

/**
 * Whether `url` answers PING within 2 s (through ioredis, the optional peer the Redis store uses).
 *
 * @example
 * ```ts
 * (await redisCheck("redis://127.0.0.1:1")).status // "fail"
 * ```
 */
export const redisCheck = async (url: string): Promise<Check> => {
  let Client: typeof Redis
  try {
    Client = (await import("ioredis")).Redis
  } catch {
    return check("redis", "fail", `cannot check ${url}: the Redis store needs ioredis (npm install ioredis)`, [], { url, reachable: false })
  }
  const client = new Client(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
  let cause: Error | undefined
  client.on("error", (error: Error) => (cause ??= error)) // connect() rejects with a vaguer "Connection is closed"
  const t0 = performance.now()
  try {
    await client.connect()
    await client.ping()
    return check("redis", "ok", `${url} answered PING in ${ms(performance.now() - t0)}`, [], { url, reachable: true })
  } catch (error) {
    return check("redis", "fail", `${url} is unreachable: ${(cause ?? error as Error).message}`, [], { url, reachable: false })
  } finally {
    client.disconnect()
  }
}

/**
 * Module names `cwd` holds (`name.py`, or a package `name/__init__.py`): what `python -m` finds
 * first on `sys.path`.
 *
 * @example
 * ```ts
 * modulesIn("./py") // ["my_workers", "platform"]
 * ```
 */
export const modulesIn = (cwd: string): Array<string> => {
  const names: Array<string> = []
  let entries: Array<string>
  try {
    entries = readdirSync(cwd)
  } catch {
    return names
  }
  for (const entry of entries.sort()) {
    if (entry.endsWith(".py")) names.push(entry.slice(0, -3))
    else {
      try {
        if (statSync(join(cwd, entry, "__init__.py")).isFile()) names.push(entry)
      } catch {
        // Not a package.
      }
    }
  }
  return names
}

/**
 * What the Python checks are given.
 *
 * @example
 * ```ts
 * const o: PythonCheckOptions = { python: "python3", cwd: "/srv/py", modules: ["my_workers"] }
 * ```
 */
export interface PythonCheckOptions {
  readonly python: string
  readonly cwd: string
  readonly modules: ReadonlyArray<string>
}

/**
 * The interpreter, its codec and numpy, the module's import, shadowed standard-library names and
 * the workers' environment: one resolution and one facts run shared by all.
 *
 * @example
 * ```ts
 * const checks = await pythonChecks({ python: "python3", cwd: "./py", modules: ["my_workers"] })
 * ```
 */
export const pythonChecks = async (o: PythonCheckOptions): Promise<Array<Check>> => {
  const spec = { module: o.modules, python: o.python, cwd: o.cwd }
  // resolvePython reads process.env: the environment diagnosed is this process's.
  const resolution = await resolvePython(spec)
  const env = buildEnv(process.env, "allowlist", resolution.env, RUNTIME_PATH)
  const run: Run = (python, args) => runPython(python, args, { cwd: o.cwd, env, timeoutMs: INIT_TIMEOUT_MS })
  const facts = await run(resolution.executable, ["-c", FACTS_SCRIPT])
  const envCheck = environmentCheck(process.env, env, resolution)
  if (!facts.ok) {
    const why = facts.failure ?? "no answer"
    const summary = facts.stopped === "spawn" ? `interpreter not found: ${why}` : `${o.python} failed to report its version and modules (${why})`
    return [check("python", "fail", summary, tail(facts.stderr), { requested: o.python, executable: resolution.executable, error: why }), envCheck]
  }
  const f = JSON.parse(facts.stdout) as PythonFacts
  return [
    await interpreterCheck(o.python, resolution, f, run),
    f.msgpack !== null
      ? check("codec", "ok", `msgpack ${f.msgpack}: calls use the msgpack codec`, [], { codec: "msgpack", msgpack: f.msgpack })
      : check("codec", "warn", "msgpack missing: calls use the JSON fallback", [`cost: ${JSON_COST}`, `fix: ${resolution.executable} -m pip install msgpack`], { codec: "json", msgpack: null }),
    f.numpy !== null
      ? check("numpy", "info", `numpy ${f.numpy}: typed arrays and NdArrays arrive as numpy arrays`, [], { numpy: f.numpy })
      : check("numpy", "info", "numpy not installed: typed arrays arrive as array.array, NdArrays as pyvisor_worker.NdArray", [], { numpy: null }),
    await moduleCheck(o.modules, resolution.executable, run),
    shadowingCheck(o.cwd, f),
    envCheck
  ]
}

/** The innermost frame of a traceback in the user's code (not importlib's, the probe's or the runtime's). */
const lastUserFrame = (traceback: string): Array<string> => {
  const lines = traceback.split("\n")
  for (let i = lines.length - 1; i >= 0; i--) {
    const file = /^ {2}File "([^"]+)"/.exec(lines[i]!)?.[1]
    if (file === undefined || file.startsWith("<") || file.includes("pyvisor_worker") || file.includes("/importlib/")) continue
    const code = lines[i + 1]
    return code === undefined || /^ {2}File /.test(code) || !code.startsWith("    ") ? [lines[i]!.trim()] : [lines[i]!.trim(), code]
  }
  return []
}

const tail = (text: string): Array<string> => text.trim().split("\n").filter((l) => l.length > 0).slice(-3)

/** The fastest of `n` starts of `python -c pass`: the interpreter's own start, without a cold cache. */
const startMs = async (python: string, run: Run, n: number): Promise<number> => {
  let best = Infinity
  for (let i = 0; i < n; i++) best = Math.min(best, (await run(python, ["-c", "pass"])).ms)
  return best
}

const interpreterCheck = async (requested: string, r: PythonResolution, f: PythonFacts, run: Run): Promise<Check> => {
  const start = await startMs(r.executable, run, 3)
  const shim = r.unresolved === undefined && r.executable !== requested
  const details = [`Python ${f.version}, starts in ${ms(start)}`]
  let viaShim: number | undefined
  if (shim) {
    viaShim = await startMs(requested, run, 2)
    details.push(`through ${requested} (a shim) it starts in ${ms(viaShim)}: pools resolve it once (worker.resolvePython), not per worker start`)
  }
  const how = shim ? "" : r.unresolved?.includes("is not a script") === true ? " (an executable: spawned as it is)" : r.unresolved === undefined ? "" : ` (${r.unresolved})`
  return check("python", "ok", r.executable === requested ? `${requested}${how}` : `${requested} → ${r.executable}${how}`, details,
    { requested, executable: r.executable, version: f.version, startMs: start, ...(viaShim === undefined ? {} : { shimStartMs: viaShim }), shimEnv: Object.keys(r.env).sort() })
}

const moduleCheck = async (modules: ReadonlyArray<string>, python: string, run: Run): Promise<Check> => {
  if (modules.length === 0) return check("module", "info", "no --module given: nothing imported", [], { modules: [] })
  const name = modules.join(", ")
  const r = await run(python, ["-c", IMPORT_SCRIPT, JSON.stringify(modules)])
  const outcome = importOutcome(r.stdout)
  if (outcome === undefined) {
    return check("module", "fail", `${name}: the import ${r.stopped === "timeout" ? `did not finish within ${ms(INIT_TIMEOUT_MS)} (the pool's default initTimeoutMs): workers would be killed` : `failed (${r.failure ?? "no answer"})`}`, tail(r.stderr), { modules, error: r.failure ?? null })
  }
  if (outcome.stage !== "ok") {
    const where = outcome.stage === "runtime" ? "the worker runtime cannot be imported here" : "cannot be imported"
    return check("module", "fail", `${name}: ${where}: ${outcome.type}: ${outcome.message}`, lastUserFrame(outcome.traceback), { modules, stage: outcome.stage, type: outcome.type, message: outcome.message })
  }
  const data = { modules, importMs: outcome.importMs, runtimeMs: outcome.runtimeMs, handlers: outcome.handlers }
  const handlers = `${outcome.handlers.length} handler${outcome.handlers.length === 1 ? "" : "s"}: ${outcome.handlers.join(", ") || "(none)"}`
  if (outcome.importMs >= SLOW_IMPORT_MS) {
    return check("module", "warn", `${name} imported in ${ms(outcome.importMs)}: slow, every worker start and restart pays it`, [handlers, "consider importing heavy libraries lazily, or fewer workers with worker.concurrency"], data)
  }
  return check("module", outcome.handlers.length === 0 ? "warn" : "ok", `${name} imported in ${ms(outcome.importMs)}`, [outcome.handlers.length === 0 ? "no @handler registered: every call would fail" : handlers], data)
}

const shadowingCheck = (cwd: string, f: PythonFacts): Check => {
  if (f.stdlib === null) return check("shadowing", "info", `cannot tell: Python ${f.version} has no sys.stdlib_module_names (3.10+)`, [], { shadowed: null })
  const stdlib = new Set(f.stdlib)
  const runtime = new Set(f.runtimeModules)
  const shadowed = modulesIn(cwd).filter((name) => stdlib.has(name) && !name.startsWith("_"))
  if (shadowed.length === 0) return check("shadowing", "ok", `no file in ${cwd} shadows a standard-library module`, [], { shadowed: [] })
  // The runtime imports its own modules with cwd off sys.path (PYTHONSAFEPATH, or its own guard
  // before 3.11); only what Python imports before the runtime's first line can still be replaced.
  const early = new Set(f.safePath ? [] : f.runtimeGuard ? f.beforeRuntime : [...f.beforeRuntime, ...f.runtimeModules])
  const breaking = shadowed.filter((name) => early.has(name))
  const lines = shadowed.map((name) =>
    early.has(name) ? `${name}: Python ${f.version} imports it with cwd on sys.path before the worker runtime starts: workers cannot start`
    : runtime.has(name) ? `${name}: the worker runtime gets the standard library's (it imports it before cwd joins sys.path); imports of it in your code get this file`
    : `${name}: imports of it in your code get this file`)
  return check("shadowing", breaking.length > 0 ? "fail" : "warn", `${shadowed.map((n) => `${n}.py`).join(", ")} in ${cwd} shadow${shadowed.length === 1 ? "s" : ""} the standard library`, [...lines, "rename them, or move the module into a package"], { shadowed, breaking })
}

const environmentCheck = (host: NodeJS.ProcessEnv, env: Readonly<Record<string, string>>, r: PythonResolution): Check => {
  const names = Object.keys(env).sort()
  const withheld = Object.keys(host).filter((n) => host[n] !== undefined && !(n in env)).length
  const fromShim = Object.keys(r.env).sort()
  return check("env", "info", `${names.length} variables reach the workers (names only; inheritEnv "allowlist"; ${withheld} host variable${withheld === 1 ? "" : "s"} withheld)`,
    [names.join(", "), ...(fromShim.length === 0 ? [] : [`set by the ${r.requested} shim: ${fromShim.join(", ")}`])], { names, withheld, fromShim })
}

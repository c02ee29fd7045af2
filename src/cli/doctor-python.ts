/**
 * The Python side of `pyvisor doctor`: small scripts run with the interpreter workers would run,
 * with the workers' environment and directory. One reads the facts (version, msgpack, numpy, the
 * standard library's module names, what the worker runtime imports); one imports the user's modules
 * the way a worker does (the worker runtime first, then each `--import` target), timing both.
 * @module
 */
import { execFile } from "node:child_process"

/**
 * How a Python run ended.
 *
 * @example
 * ```ts
 * const r: PythonRun = { ok: true, stopped: undefined, stdout: "{}", stderr: "", ms: 21, failure: undefined }
 * ```
 */
export interface PythonRun {
  /** Exit code 0 within the time allowed. */
  readonly ok: boolean
  /** Why it is not ok: it could not be spawned, was killed at the timeout, or exited non-zero. */
  readonly stopped: "spawn" | "timeout" | "exit" | undefined
  readonly stdout: string
  readonly stderr: string
  /** Wall time from spawn to exit. */
  readonly ms: number
  /** Why it did not run, or did not finish: `spawn python9 ENOENT`, `timed out after 10000 ms`, `exit code 1`. */
  readonly failure: string | undefined
}

/**
 * Runs `python args` in `cwd` with `env`, killed after `timeoutMs`. Never rejects.
 *
 * @example
 * ```ts
 * const { ms } = await runPython("/usr/bin/python3", ["-c", "pass"], { cwd: ".", env: {}, timeoutMs: 10_000 })
 * ```
 */
export const runPython = (python: string, args: ReadonlyArray<string>, o: { readonly cwd: string; readonly env: Readonly<Record<string, string>>; readonly timeoutMs: number }): Promise<PythonRun> =>
  new Promise((resolve) => {
    const t0 = performance.now()
    execFile(python, [...args], { cwd: o.cwd, env: o.env, timeout: o.timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 << 20, windowsHide: true }, (error, stdout, stderr) => {
      const ms = performance.now() - t0
      const e = error as (Error & { code?: unknown; killed?: boolean }) | null
      const stopped = e === null ? undefined : e.killed === true ? "timeout" : typeof e.code === "string" ? "spawn" : "exit"
      const failure = stopped === undefined ? undefined
        : stopped === "timeout" ? `timed out after ${o.timeoutMs} ms`
        : stopped === "spawn" ? `cannot run ${python}: ${String(e?.code)}`
        : `exit code ${String(e?.code)}`
      resolve({ ok: stopped === undefined, stopped, stdout, stderr, ms, failure })
    })
  })

/**
 * The facts script: the working directory is taken off `sys.path` so a shadowing file cannot fool it.
 *
 * @example
 * ```ts
 * const facts = JSON.parse((await runPython(python, ["-c", FACTS_SCRIPT], o)).stdout) as PythonFacts
 * ```
 */
export const FACTS_SCRIPT = `
import sys
sys.path[:] = [p for p in sys.path if p not in ("", ".")]
loaded = {name.split(".")[0] for name in sys.modules}
import runpy
# What \`python -m\` imports after Python put cwd on sys.path, before any of the runtime's code runs.
before_runtime = sorted({name.split(".")[0] for name in sys.modules} - loaded)
import json, importlib.util, os
out = {"version": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable,
       "stdlib": sorted(getattr(sys, "stdlib_module_names", ())) or None,
       "safePath": bool(getattr(sys.flags, "safe_path", False)), "runtimeGuard": "PYVISOR_SAFEPATH" in os.environ,
       "beforeRuntime": before_runtime}
from pyvisor_worker.protocol import load_msgpack
m = load_msgpack()
out["msgpack"] = None if m is None else ".".join(str(p) for p in m.version)
if importlib.util.find_spec("numpy") is None:
    out["numpy"] = None
else:
    try:
        from importlib.metadata import version
        out["numpy"] = version("numpy")
    except Exception:
        out["numpy"] = "unknown version"
import pyvisor_worker.bootstrap
out["runtimeModules"] = sorted({name.split(".")[0] for name in sys.modules})
sys.stdout.write(json.dumps(out))
`

/**
 * Marks the import script's answer among whatever the user's module prints.
 *
 * @example
 * ```ts
 * stdout.lastIndexOf(MARK)
 * ```
 */
export const MARK = "@@pyvisor-doctor@@"

/**
 * The import script: targets in argv[1] (JSON); the working directory joins `sys.path` after the runtime is imported, as in a worker.
 *
 * @example
 * ```ts
 * const outcome = importOutcome((await runPython(python, ["-c", IMPORT_SCRIPT, JSON.stringify(["my_workers"])], o)).stdout)
 * ```
 */
export const IMPORT_SCRIPT = `
import json, sys, time, traceback
def report(d):
    sys.stdout.write("\\n${MARK}" + json.dumps(d) + "\\n")
    sys.stdout.flush()
def failed(stage, e):
    report({"stage": stage, "type": type(e).__module__ + "." + type(e).__qualname__ if type(e).__module__ != "builtins" else type(e).__qualname__,
            "message": str(e), "traceback": traceback.format_exc()})
    sys.exit(0)
t0 = time.perf_counter()
try:
    import pyvisor_worker.bootstrap
    from pyvisor_worker.registry import handler_names, import_target
except BaseException as e:
    failed("runtime", e)
t1 = time.perf_counter()
# As a worker does: the runtime was imported with cwd off sys.path (PYTHONSAFEPATH), now it joins.
pyvisor_worker.bootstrap.put_cwd_on_path()
try:
    for target in json.loads(sys.argv[1]):
        import_target(target)
except BaseException as e:
    failed("module", e)
t2 = time.perf_counter()
report({"stage": "ok", "runtimeMs": (t1 - t0) * 1000, "importMs": (t2 - t1) * 1000, "handlers": handler_names()})
`

/**
 * What the facts script reports.
 *
 * @example
 * ```ts
 * const f: PythonFacts = { version: "3.11.2", executable: "/usr/bin/python3", stdlib: ["os"], msgpack: "1.0.3", numpy: null, runtimeModules: ["os"], safePath: true, runtimeGuard: true, beforeRuntime: [] }
 * ```
 */
export interface PythonFacts {
  readonly version: string
  readonly executable: string
  readonly stdlib: ReadonlyArray<string> | null
  readonly msgpack: string | null
  readonly numpy: string | null
  readonly runtimeModules: ReadonlyArray<string>
  /** Python honoured PYTHONSAFEPATH (3.11+): cwd was never on `sys.path` before the runtime put it there. */
  readonly safePath: boolean
  /** PYVISOR_SAFEPATH is set: the runtime takes cwd off `sys.path` itself when Python did not (before 3.11). */
  readonly runtimeGuard: boolean
  /** Top-level modules `python -m` imports before the runtime's first line: cwd shadows them when Python put it on `sys.path`. */
  readonly beforeRuntime: ReadonlyArray<string>
}

/**
 * What the import script reports.
 *
 * @example
 * ```ts
 * const o: ImportOutcome = { stage: "ok", runtimeMs: 3.1, importMs: 12.5, handlers: ["add"] }
 * ```
 */
export type ImportOutcome =
  | { readonly stage: "ok"; readonly runtimeMs: number; readonly importMs: number; readonly handlers: ReadonlyArray<string> }
  | { readonly stage: "runtime" | "module"; readonly type: string; readonly message: string; readonly traceback: string }

/**
 * The import script's answer in `stdout`, or undefined when it gave none (it died first).
 *
 * @example
 * ```ts
 * importOutcome(`hello\\n${MARK}{"stage":"ok","runtimeMs":3,"importMs":1,"handlers":[]}\\n`) // { stage: "ok", … }
 * ```
 */
export const importOutcome = (stdout: string): ImportOutcome | undefined => {
  const at = stdout.lastIndexOf(MARK)
  if (at < 0) return undefined
  try {
    return JSON.parse(stdout.slice(at + MARK.length).split("\n")[0]!) as ImportOutcome
  } catch {
    return undefined
  }
}

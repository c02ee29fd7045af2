/**
 * The environment a worker gets: an allowlist of the host's variables (so secrets in the
 * host's env do not leak into user code by default), then the user's overrides.
 */

/**
 * Host variables passed through by default: exact names, never prefixes (a prefix such as
 * `PYTHON` would also pass `PYTHON_API_KEY`). Each is here because Python, a launcher or a
 * numeric library reads it: the system basics and locale; the interpreter's own settings; what
 * pyenv shims and conda environments need to find their interpreter; thread counts of the
 * numeric libraries; which GPUs a worker may see and where CUDA lives. Anything else goes in
 * `worker.env`, or by name in `worker.inheritEnv`.
 *
 * @example
 * ```ts
 * DEFAULT_ENV_ALLOW.includes("CUDA_VISIBLE_DEVICES") // true
 * DEFAULT_ENV_ALLOW.includes("PYTHON_API_KEY") // false
 * ```
 */
export const DEFAULT_ENV_ALLOW: ReadonlyArray<string> = [
  // system basics
  "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "TMPDIR", "TEMP", "TMP", "LD_LIBRARY_PATH",
  "SSL_CERT_FILE", "SSL_CERT_DIR", "SYSTEMROOT", "COMSPEC", "PATHEXT",
  // locale
  "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES", "LC_MONETARY", "LC_NUMERIC", "LC_TIME",
  // the interpreter (PYTHONPATH is extended with the runtime's folder, see below)
  "PYTHONPATH", "PYTHONHOME", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONWARNINGS", "PYTHONDONTWRITEBYTECODE",
  "PYTHONPYCACHEPREFIX", "PYTHONHASHSEED", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONOPTIMIZE", "PYTHONDEVMODE",
  "PYTHONMALLOC", "PYTHONTRACEMALLOC", "PYTHONASYNCIODEBUG",
  // interpreter managers: pyenv shims, virtualenvs, conda
  "PYENV_ROOT", "PYENV_VERSION", "PYENV_DIR", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_EXE",
  "CONDA_PYTHON_EXE", "CONDA_SHLVL",
  // numeric libraries' thread pools
  "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
  // GPUs
  "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME", "CUDA_PATH", "NVIDIA_VISIBLE_DEVICES",
  "NVIDIA_DRIVER_CAPABILITIES"
]

const ALLOWED = new Set(DEFAULT_ENV_ALLOW)

/** How much of the host's environment a worker inherits. */
export type InheritEnv = "allowlist" | "all" | "none" | ReadonlyArray<string>

/**
 * Builds a worker's environment.
 *
 * @example
 * ```ts
 * buildEnv(process.env, "allowlist", { MODEL: "small" }, "/pkg/python")
 * ```
 */
export const buildEnv = (
  host: NodeJS.ProcessEnv,
  inherit: InheritEnv,
  overrides: Readonly<Record<string, string>>,
  runtimePath: string
): Record<string, string> => {
  const env: Record<string, string> = {}
  const keep = (name: string): boolean => {
    if (inherit === "all") return true
    if (inherit === "none") return false
    if (inherit === "allowlist") return ALLOWED.has(name)
    return inherit.includes(name)
  }
  for (const [name, value] of Object.entries(host)) if (value !== undefined && keep(name)) env[name] = value
  Object.assign(env, overrides)
  // The bundled runtime must be importable whatever the user's PYTHONPATH says.
  const sep = process.platform === "win32" ? ";" : ":"
  env["PYTHONPATH"] = env["PYTHONPATH"] ? `${runtimePath}${sep}${env["PYTHONPATH"]}` : runtimePath
  // User prints should reach the host's log as they happen, not when a buffer fills.
  env["PYTHONUNBUFFERED"] = "1"
  env["PYVISOR_PARENT_PID"] = String(process.pid)
  // The user's cwd joins sys.path only after the runtime's own imports (bootstrap.put_cwd_on_path):
  // a user file named platform.py must not replace the stdlib module the runtime imports. Python
  // before 3.11 ignores PYTHONSAFEPATH; PYVISOR_SAFEPATH tells the runtime to take cwd off itself.
  if (env["PYTHONSAFEPATH"] === undefined) {
    env["PYTHONSAFEPATH"] = "1"
    env["PYVISOR_SAFEPATH"] = "1"
  }
  return env
}

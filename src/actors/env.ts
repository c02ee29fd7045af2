/**
 * The environment a worker gets: an allowlist of the host's variables (so secrets in the
 * host's env do not leak into user code by default), then the user's overrides.
 */

/** Host variables passed through by default. */
export const DEFAULT_ENV_ALLOW: ReadonlyArray<string> = [
  "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "SHELL", "TERM",
  "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
  "SYSTEMROOT", "COMSPEC", "PATHEXT"
]

/** Host variable prefixes passed through by default (locale, interpreters, numeric libraries). */
export const DEFAULT_ENV_ALLOW_PREFIXES: ReadonlyArray<string> = [
  "LC_", "PYTHON", "PYENV_", "CONDA_", "OMP_", "MKL_", "OPENBLAS_", "CUDA_", "NVIDIA_"
]

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
    if (inherit === "allowlist") return DEFAULT_ENV_ALLOW.includes(name) || DEFAULT_ENV_ALLOW_PREFIXES.some((p) => name.startsWith(p))
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
  return env
}

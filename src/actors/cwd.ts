/**
 * Why a worker's `cwd` cannot host a process, in words that name the folder: a spawn in a missing
 * folder otherwise fails as "spawn python3 ENOENT", which blames the interpreter.
 * @module
 */
import { statSync } from "node:fs"

/**
 * The error a spawn in `cwd` would meet because of the folder itself (ENOENT, ENOTDIR, EACCES…),
 * or null when it is a directory.
 *
 * @example
 * ```ts
 * cwdProblem("/etc/passwd")?.message // "worker.cwd '/etc/passwd' is not a directory (ENOTDIR)"
 * ```
 */
export const cwdProblem = (cwd: string): (Error & { readonly code: string }) | null => {
  let isDirectory: boolean
  try {
    isDirectory = statSync(cwd).isDirectory()
  } catch (error) {
    const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "EINVAL"
    const what = code === "ENOENT" ? "does not exist" : code === "ENOTDIR" ? "has a file where a folder should be" : "cannot be used"
    return Object.assign(new Error(`worker.cwd '${cwd}' ${what} (${code})`), { code })
  }
  return isDirectory ? null : Object.assign(new Error(`worker.cwd '${cwd}' is not a directory (ENOTDIR)`), { code: "ENOTDIR" })
}

/**
 * Telling a kernel OOM kill from any other SIGKILL. The kernel counts its out-of-memory kills in
 * /proc/vmstat (`oom_kill`, Linux 4.13+), whether the limit was the machine's or a cgroup's (a
 * container's). A worker that died of SIGKILL that pyvisor did not send, while that count rose, was
 * almost certainly the victim: the count is machine-wide, so another process's OOM kill in the
 * same moment could be mistaken for it, which is why the error says "likely".
 */
import { readFileSync } from "node:fs"

/**
 * The kernel's OOM kills so far, or null where the counter cannot be read (not Linux, old kernel).
 *
 * @example
 * ```ts
 * const before = readOomKills() // 0
 * ```
 */
export const readOomKills = (): number | null => {
  try {
    const match = /^oom_kill (\d+)$/m.exec(readFileSync("/proc/vmstat", "latin1"))
    return match === null ? null : Number(match[1])
  } catch {
    return null
  }
}

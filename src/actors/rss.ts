/**
 * Resident set size of a process, for recycling workers that grew past `maxWorkerRssMb`.
 * Linux reads `/proc/<pid>/status` (no subprocess, so it is cheap enough to poll every worker);
 * other platforms ask `ps`.
 * @module
 */
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"

const KIB = 1024
/** `ps` normally answers in milliseconds; the bound only keeps a wedged `ps` from stalling the poller. */
const PS_TIMEOUT_MS = 5_000

const checkPid = (pid: number): void => {
  // 0 and negative pids name process groups to `ps`/`kill`, never a single process.
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new RangeError(`expected a pid (integer > 0), got ${String(pid)}`)
}

const errorCode = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "code" in error ? error.code : undefined

/**
 * RSS of `pid` in bytes from `ps -o rss= -p <pid>` (kB → bytes), run without a shell; null when no
 * such process exists. Used by {@link readRssBytes} where there is no `/proc`; exported so that the
 * fallback is tested on Linux too. Throws when `ps` itself cannot be run or prints something unexpected.
 *
 * @example
 * ```ts
 * await readRssBytesPs(process.pid) // e.g. 52_428_800
 * await readRssBytesPs(4_194_305) // null: above any pid_max
 * ```
 */
export const readRssBytesPs = async (pid: number): Promise<number | null> => {
  checkPid(pid)
  // LC_ALL=C: the number must not be printed with locale digit grouping.
  // Loaded here: only systems without /proc need it, and pyvisor's import should not pay for it.
  const { execa } = await import("execa")
  const result = await execa("ps", ["-o", "rss=", "-p", String(pid)], {
    reject: false, timeout: PS_TIMEOUT_MS, env: { LC_ALL: "C" }, stdin: "ignore"
  })
  if (result.exitCode === undefined) throw new Error(`cannot read RSS with ps: ${result.shortMessage ?? "ps failed"}`)
  const text = result.stdout.trim()
  // ps exits 1 with no output when the pid does not exist.
  if (text === "") return null
  if (!/^\d+$/.test(text)) throw new Error(`cannot read RSS with ps: unexpected output ${JSON.stringify(text)}`)
  return Number(text) * KIB
}

let procfs: boolean | undefined
/** Whether `/proc/<pid>/status` is the source of truth (checked once: a Linux container may lack `/proc`). */
const hasProcfs = (): boolean => (procfs ??= process.platform === "linux" && existsSync("/proc/self/status"))

const VM_RSS = /^VmRSS:\s+(\d+)\s+kB$/m
const PSS = /^Pss:\s+(\d+)\s+kB$/m

/**
 * The kB count that `line` captures in a `/proc` file, in bytes; null when the line is missing or
 * the process is gone (ENOENT: no such process; ESRCH: it exited while the file was being read;
 * `alsoGone`: codes that mean the same for this file).
 */
const readProcKib = async (file: string, line: RegExp, alsoGone: ReadonlyArray<string> = []): Promise<number | null> => {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (error) {
    const code = errorCode(error)
    if (code === "ENOENT" || code === "ESRCH" || alsoGone.includes(code as string)) return null
    throw error
  }
  const match = line.exec(text)
  return match?.[1] === undefined ? null : Number(match[1]) * KIB
}

// A zombie (exited, not yet reaped) has no VmRSS line: it holds no memory any more, so it counts as gone.
const readRssBytesProc = (pid: number): Promise<number | null> => readProcKib(`/proc/${pid}/status`, VM_RSS)

/**
 * Resident set size of process `pid` in bytes, or null when the process is gone (or a zombie, on
 * Linux). Linux reads `VmRSS` from `/proc/<pid>/status`; elsewhere it runs {@link readRssBytesPs}.
 *
 * @example
 * ```ts
 * const rss = await readRssBytes(worker.pid)
 * if (rss !== null && rss > options.maxWorkerRssBytes) recycle(worker)
 * ```
 */
export const readRssBytes = async (pid: number): Promise<number | null> => {
  checkPid(pid)
  return hasProcfs() ? readRssBytesProc(pid) : readRssBytesPs(pid)
}

let rollup: boolean | undefined
/** Whether `/proc/<pid>/smaps_rollup` exists (Linux 4.14 and later). */
const hasRollup = (): boolean => (rollup ??= hasProcfs() && existsSync("/proc/self/smaps_rollup"))

/**
 * Proportional set size of `pid` in bytes: its resident memory with every page shared by N
 * processes counted 1/N (so workers forked from one zygote show what they really cost, while
 * their RSS counts the shared imports in full). From `Pss:` in `/proc/<pid>/smaps_rollup`; null
 * when the process is gone, or where that file does not exist (not Linux, or Linux before 4.14).
 *
 * @example
 * ```ts
 * const pss = await readPssBytes(worker.pid) // e.g. 9_437_184 for a worker forked from a numpy zygote
 * ```
 */
export const readPssBytes = async (pid: number): Promise<number | null> => {
  checkPid(pid)
  // Not ours to read (EACCES, EPERM): no reading, as for a zombie.
  return hasRollup() ? readProcKib(`/proc/${pid}/smaps_rollup`, PSS, ["EACCES", "EPERM"]) : null
}

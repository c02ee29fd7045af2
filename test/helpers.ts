// Shared test helpers: fixture paths, the two interpreters, process liveness and parentage, option errors.
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { expect } from "vitest"
import { InvalidOptionError } from "../src/errors.ts"

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))

/** The interpreters every core test runs on: one without msgpack (JSON fallback), one with it. */
export const INTERPRETERS: ReadonlyArray<{ readonly python: string; readonly codec: "json" | "msgpack" }> = [
  { python: "python3", codec: "json" },
  { python: "/usr/bin/python3", codec: "msgpack" }
]

/**
 * Interpreters older than 3.11, which ignore PYTHONSAFEPATH: the runtime keeps the user's cwd off
 * sys.path itself there. pyenv builds, at the same paths on CI machines as on the development ones.
 */
export const PRE_SAFEPATH_INTERPRETERS: ReadonlyArray<string> = [
  "/root/.pyenv/versions/3.9.18/bin/python3",
  "/root/.pyenv/versions/3.10.13/bin/python3"
]

/**
 * How workers start (`worker.startMethod`): suites that hold for both run once per method. Fork
 * exists only on Linux/macOS; elsewhere a forkserver pool spawns (with a warning), so the second
 * run repeats the first.
 */
export const START_METHODS: ReadonlyArray<"spawn" | "forkserver"> = ["spawn", "forkserver"]

/** Every interpreter on every start method: the suites whose calls must behave alike on all of them. */
export const MATRIX: ReadonlyArray<(typeof INTERPRETERS)[number] & { readonly startMethod: (typeof START_METHODS)[number] }> =
  INTERPRETERS.flatMap((interpreter) => START_METHODS.map((startMethod) => ({ ...interpreter, startMethod })))

const hasMsgpack = (python: string): boolean => {
  try {
    execFileSync(python, ["-c", "import msgpack"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

// The matrix is only meaningful if the interpreters really differ; fail loudly otherwise.
for (const { python, codec } of INTERPRETERS) {
  if (hasMsgpack(python) !== (codec === "msgpack")) {
    throw new Error(`${python} should ${codec === "msgpack" ? "" : "not "}have msgpack (apt-get install -y python3-msgpack)`)
  }
}

/**
 * The fields of /proc/<pid>/stat after "pid (comm) ": [0] the state letter, [1] the parent pid,
 * [2] the process group. The name may hold spaces and parentheses, so the fields follow the last ')'.
 * Throws when the process is gone (or on a system without /proc).
 */
const statFields = (pid: number | string): Array<string> => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
}

/**
 * The parent pid of `pid`, from /proc.
 * @example expect(parentOf(workerPid)).toBe(zygotePid)
 */
export const parentOf = (pid: number): number => Number(statFields(pid)[1])

/**
 * The process group of `pid`, from /proc.
 * @example expect(processGroupOf(workerPid)).toBe(workerPid)
 */
export const processGroupOf = (pid: number): number => Number(statFields(pid)[2])

/** True while a process with this pid exists and is not a zombie waiting to be reaped. */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return statFields(pid)[0] !== "Z"
  } catch {
    return process.platform !== "linux"
  }
}

/** True while `pid` is a live pyvisor worker (not a zombie, and not a recycled pid running something else). */
export const isWorker = (pid: number): boolean => {
  if (!isAlive(pid)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("pyvisor_worker")
  } catch {
    return false
  }
}

/** Polls `predicate` until true or `ms` elapsed; returns its last value. For OS facts, not for timing assertions. */
export const eventually = async (predicate: () => boolean, ms = 5_000): Promise<boolean> => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (predicate()) return true
    await new Promise((r) => setTimeout(r, 10))
  }
  return predicate()
}

/** Live pyvisor processes (pid → parent pid) of this machine, read from /proc. */
const pyvisorProcesses = (): Map<number, number> => {
  const out = new Map<number, number>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const fields = statFields(entry)
      if (fields[0] === "Z") continue
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("pyvisor_worker")) out.set(Number(entry), Number(fields[1]))
    } catch {
      // The process ended while we looked.
    }
  }
  return out
}

const isZygote = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes("PYVISOR_ZYGOTE=1")
  } catch {
    return false
  }
}

/**
 * Pids of this process's Python workers, whatever their start method: children running
 * pyvisor_worker, except zygotes, whose own children (the forked workers) count instead.
 */
export const pythonChildren = (): Array<number> => {
  const all = pyvisorProcesses()
  const zygotes = new Set([...all].filter(([pid, parent]) => parent === process.pid && isZygote(pid)).map(([pid]) => pid))
  return [...all].filter(([pid, parent]) => (parent === process.pid && !zygotes.has(pid)) || zygotes.has(parent)).map(([pid]) => pid)
}

/** Pids of this process's zygotes (`startMethod: "forkserver"`). */
export const zygotes = (): Array<number> =>
  [...pyvisorProcesses()].filter(([pid, parent]) => parent === process.pid && isZygote(pid)).map(([pid]) => pid)

/** The InvalidOptionError `run` throws (fails the test when it throws nothing, or something else). */
export const rejection = (run: () => unknown): InvalidOptionError => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError)
    return error as InvalidOptionError
  }
  throw new Error("expected an InvalidOptionError")
}

// Issue requirement: a host SIGKILLed with 8 workers leaves 0 Python processes after 1 s, 20 trials,
// for each start method (with forkserver, the zygote and the workers forked from it).
// The host is a child Node process (test/fixtures/host.ts); the Python side relies on
// PR_SET_PDEATHSIG and on EOF of fd 3, nothing the dead host could still do.
import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { isWorker, START_METHODS } from "../helpers.ts"

const HOST = new URL("../fixtures/host.ts", import.meta.url).pathname
const WORKERS = 8
const TRIALS = 20
// Two trials at a time: a trial is mostly 8 interpreters starting, so two cores stay busy (~30 s
// unloaded on 2 cores; the timeout leaves room for a machine busy with other test files).
const PARALLEL = 2
const DEADLINE_MS = 1_000
const READY_TIMEOUT_MS = 150_000


/** Every live pyvisor worker started by host `hostPid` (the host sets PYVISOR_PARENT_PID in their environment). */
const workersOf = (hostPid: number): Array<number> => {
  const out: Array<number> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(`PYVISOR_PARENT_PID=${hostPid}`)) continue
      if (isWorker(Number(entry))) out.push(Number(entry))
    } catch {
      // Ended while we looked, or not ours to read.
    }
  }
  return out
}

interface Trial {
  readonly pids: ReadonlyArray<number>
  /** Workers still alive DEADLINE_MS after the SIGKILL (the pids printed, plus any other child of that host). */
  readonly left: ReadonlyArray<number>
  /** Time from the SIGKILL until the last printed worker was gone, or null if some outlived the deadline. */
  readonly goneAfterMs: number | null
}

const trial = async (startMethod: string): Promise<Trial> => {
  const host = spawn(process.execPath, [HOST, String(WORKERS), startMethod], { stdio: ["ignore", "pipe", "pipe"] })
  let stderr = ""
  host.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = ""
      host.stdout.on("data", (d: Buffer) => {
        out += d.toString()
        if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")))
      })
      host.once("exit", (code, signal) => reject(new Error(`host exited early (${code ?? signal}): ${stderr}`)))
      setTimeout(() => reject(new Error(`host printed no pids within ${READY_TIMEOUT_MS} ms: ${stderr}`)), READY_TIMEOUT_MS).unref()
    })
    const pids = JSON.parse(line) as Array<number>
    expect(pids).toHaveLength(WORKERS)
    for (const pid of pids) expect(isWorker(pid), `worker ${pid} alive before the kill`).toBe(true)
    // The /proc scan that looks for stragglers does see this host's workers (and its zygote).
    const all = workersOf(host.pid!)
    expect(all).toEqual(expect.arrayContaining(pids))
    expect(all).toHaveLength(WORKERS + (startMethod === "forkserver" ? 1 : 0))
    const exited = new Promise((resolve) => host.once("exit", resolve))
    const t0 = performance.now()
    host.kill("SIGKILL")
    let goneAfterMs: number | null = null
    while (performance.now() - t0 < DEADLINE_MS) {
      if (!all.some(isWorker)) {
        goneAfterMs = performance.now() - t0
        break
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    await exited
    const left = [...new Set([...all.filter(isWorker), ...workersOf(host.pid!)])]
    return { pids, left, goneAfterMs }
  } finally {
    host.kill("SIGKILL")
  }
}

describe.each(START_METHODS)("host killed with SIGKILL (startMethod %s)", (startMethod) => {
  it(`${WORKERS} workers, ${TRIALS} trials: 0 Python processes left ${DEADLINE_MS} ms after the kill`, async () => {
    const trials: Array<Trial> = []
    for (let i = 0; i < TRIALS; i += PARALLEL) {
      trials.push(...await Promise.all(Array.from({ length: Math.min(PARALLEL, TRIALS - i) }, () => trial(startMethod))))
    }
    const times = trials.map((t) => t.goneAfterMs).filter((t): t is number => t !== null)
    console.log(`host SIGKILL (${startMethod}), ${WORKERS} workers: all gone in ${times.length}/${TRIALS} trials; slowest ${Math.max(...times).toFixed(0)} ms`)
    expect(trials.map((t) => t.left)).toEqual(Array.from({ length: TRIALS }, () => []))
  }, 600_000)
})

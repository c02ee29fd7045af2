// Chaos: 4 workers, 2 000 calls of a 5 ms handler, the busy worker SIGKILLed every 100 ms, with
// the default backoff. Every call settles exactly once with its value or WorkerCrashedError (none
// times out: a healthy worker that is killed is restarted at once, not after a growing backoff),
// non-idempotent calls never run twice, and the pool is whole again soon after the killing stops.
// Bounded in work (2 000 calls through 32 callers), not in time. Runs once per start method.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import { eventually, FIXTURES, isAlive, START_METHODS } from "../helpers.ts"

const CALLS = 2_000
const CALLERS = 32

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  it("every call settles exactly once while the busy worker is killed every 100 ms", { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-chaos-"))
    const log = join(dir, "runs")
    const pool = await createPool({
      worker: { module: "chaos", cwd: FIXTURES, startMethod },
      size: 4,
      // Dozens of kills in a few seconds are the point here, not a reason to give up.
      restart: { maxRestarts: 100_000, withinMs: 1_000 }
    })
    const seen = new Set<number>()
    const track = (): void => {
      for (const w of pool.snapshot().workers) if (w.pid !== null) seen.add(w.pid)
    }
    track()
    let kills = 0
    const killer = setInterval(() => {
      track()
      const busy = pool.snapshot().workers.filter((w) => w.pid !== null && w.inFlight > 0)
      const victim = busy[Math.floor(Math.random() * busy.length)]
      if (victim?.pid) {
        try {
          process.kill(victim.pid, "SIGKILL")
          kills++
        } catch {
          // The snapshot can name a worker that exited a moment ago.
        }
      }
    }, 100)

    const settled = new Array<number>(CALLS).fill(0)
    const outcomes = { ok: 0, crashed: 0, other: [] as Array<unknown> }
    let next = 0
    const caller = async (): Promise<void> => {
      for (let i = next++; i < CALLS; i = next++) {
        const idempotent = i % 2 === 0
        const token = `${idempotent ? "i" : "n"}${i}`
        await pool.call(idempotent ? "again" : "once", { log, token, ms: 5 }, idempotent ? { idempotent: true, retries: 3 } : {}).then((value) => {
          settled[i]!++
          expect(value).toBe(token)
          outcomes.ok++
        }, (error: unknown) => {
          settled[i]!++
          // SIGKILLs from outside never make a call poison (they are not the call's doing).
          if (error instanceof WorkerCrashedError) outcomes.crashed++
          else outcomes.other.push(error)
        })
      }
    }
    await Promise.all(Array.from({ length: CALLERS }, caller))
    clearInterval(killer)
    const stoppedAt = performance.now()
    track()

    expect(outcomes.other).toEqual([])
    expect(outcomes.ok + outcomes.crashed).toBe(CALLS)
    expect(settled.every((n) => n === 1)).toBe(true)
    expect(kills).toBeGreaterThan(0)
    expect(outcomes.crashed).toBeGreaterThan(0)

    const runs = new Map<string, number>()
    for (const token of readFileSync(log, "utf8").split("\n")) if (token) runs.set(token, (runs.get(token) ?? 0) + 1)
    expect([...runs].filter(([token, n]) => token.startsWith("n") && n > 1)).toEqual([])

    // 4 ready within 1 s of the last kill on a machine that is not overloaded; generous otherwise.
    const quiet = loadavg()[0]! < cpus().length
    const whole = await eventually(() => pool.snapshot().workers.filter((w) => w.state === "ready").length === 4, quiet ? 1_000 : 10_000)
    const healedMs = performance.now() - stoppedAt
    expect(whole).toBe(true)
    expect(pool.snapshot().state).toBe("ready")
    track()
    await pool.close()
    expect([...seen].filter(isAlive)).toEqual([])
    rmSync(dir, { recursive: true, force: true })
    console.log(`chaos (${startMethod}): ${kills} kills, ${outcomes.ok} ok, ${outcomes.crashed} crashed, ${seen.size} processes, whole again ${healedMs.toFixed(0)} ms after the last kill (load ${loadavg()[0]!.toFixed(1)})`)
  })
})

// Chaos: 4 workers, 5 000 calls of mixed length, a random worker SIGKILLed every ~100 ms.
// Every call settles exactly once, non-idempotent calls never run twice, the pool heals,
// and nothing is left behind. Bounded by the number of calls, not by wall-clock assertions.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { createPool, WorkerCrashedError } from "../../src/index.ts"
import { eventually, FIXTURES, isAlive } from "../helpers.ts"

const CALLS = 5_000

it("every call settles exactly once while workers are killed at random", { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "pyvisor-chaos-"))
  const log = join(dir, "runs")
  const pool = await createPool({
    worker: { module: "chaos", cwd: FIXTURES },
    size: 4,
    maxQueue: CALLS,
    // Exactly-once settlement is the point, not queueing deadlines: on a loaded machine 5 000
    // queued calls can wait longer than the default 30 s.
    checkoutTimeoutMs: 600_000,
    // Dozens of kills in a few seconds are the point here, not a reason to give up.
    restart: { maxRestarts: 10_000, withinMs: 1_000, backoff: { initialMs: 1, maxMs: 20 } }
  })
  const seen = new Set<number>()
  const track = (): void => {
    for (const w of pool.snapshot().workers) if (w.pid !== null) seen.add(w.pid)
  }
  track()
  let kills = 0
  const killer = setInterval(() => {
    track()
    const live = pool.snapshot().workers.filter((w) => w.pid !== null && (w.state === "busy" || w.state === "ready"))
    const victim = live[Math.floor(Math.random() * live.length)]
    if (victim?.pid) {
      try {
        process.kill(victim.pid, "SIGKILL")
        kills++
      } catch {
        // The snapshot can name a worker that exited a moment ago (killed by the previous tick).
      }
    }
  }, 100)

  const settled = new Array<number>(CALLS).fill(0)
  const outcomes = { ok: 0, crashed: 0, other: [] as Array<unknown> }
  const calls = Array.from({ length: CALLS }, (_, i) => {
    const idempotent = i % 2 === 0
    const ms = i % 10 === 0 ? 20 : i % 3 === 0 ? 2 : 0
    return pool.call(idempotent ? "again" : "once", { log, token: `${idempotent ? "i" : "n"}${i}`, ms }, idempotent ? { idempotent: true, retries: 3 } : {})
      .then((value) => {
        settled[i]!++
        expect(value).toBe(`${idempotent ? "i" : "n"}${i}`)
        outcomes.ok++
      }, (error: unknown) => {
        settled[i]!++
        if (error instanceof WorkerCrashedError) outcomes.crashed++
        else outcomes.other.push(error)
      })
  })
  await Promise.all(calls)
  clearInterval(killer)
  track()

  expect(outcomes.other).toEqual([])
  expect(outcomes.ok + outcomes.crashed).toBe(CALLS)
  expect(settled.every((n) => n === 1)).toBe(true)
  expect(kills).toBeGreaterThan(0)
  expect(outcomes.crashed).toBeGreaterThan(0)

  const runs = new Map<string, number>()
  for (const token of readFileSync(log, "utf8").split("\n")) if (token) runs.set(token, (runs.get(token) ?? 0) + 1)
  const twice = [...runs].filter(([token, n]) => token.startsWith("n") && n > 1)
  expect(twice).toEqual([])

  expect(await eventually(() => pool.snapshot().workers.filter((w) => w.state === "ready").length === 4, 10_000)).toBe(true)
  expect(pool.snapshot().state).toBe("ready")
  track()
  await pool.close()
  expect([...seen].filter(isAlive)).toEqual([])
  rmSync(dir, { recursive: true, force: true })
  console.log(`chaos: ${kills} kills, ${outcomes.ok} ok, ${outcomes.crashed} crashed, ${seen.size} processes`)
})

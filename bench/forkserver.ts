// worker.startMethod "forkserver" against "spawn", both measured in this run (interleaved rounds):
// - all-ready time of 8 workers preloading numpy + scipy (forkserver) vs 1 spawned worker (and 8);
// - crash → replacement ready (SIGKILL one worker of 4, time to its slot's next `ready`), p50;
// - PSS per worker with numpy preloaded (snapshot().workers[].pss, from /proc/<pid>/smaps_rollup).
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import type { Pool, PoolOptions } from "../src/index.ts"
import { interleaved, median, ms, quantiles, spread, table } from "./stats.ts"
import type { Target } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
// The interpreter with numpy and scipy.
const PYTHON = "python3"
const HEAVY = ["numpy", "scipy", "scipy.linalg", "scipy.sparse"]
const ROUNDS = 3
const KILLS = Number(process.env["BENCH_FORK_KILLS"] ?? 40)
const CRASH_SIZE = 4
const PSS_SIZE = 8
const READY_RATIO_TARGET = 1.5
const CRASH_P50_TARGET_MS = 15
const PSS_RATIO_TARGET = 0.5
const TIMEOUT_MS = 30_000

type Method = "spawn" | "forkserver"

const pool = (startMethod: Method, size: number, preload: ReadonlyArray<string>, extra: Partial<PoolOptions> = {}): Promise<Pool> =>
  createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python: PYTHON, preload, startMethod }, size, initTimeoutMs: TIMEOUT_MS, ...extra })

const allReady = async (startMethod: Method, size: number): Promise<number> => {
  const t0 = performance.now()
  const p = await pool(startMethod, size, HEAVY)
  const elapsed = performance.now() - t0
  await p.close()
  return elapsed
}

/** Kill → the slot's next incarnation `ready`, in ms, KILLS times round-robin over the workers. */
const replacements = async (startMethod: Method): Promise<Array<number>> => {
  // No backoff: what a restart itself costs (a worker that served calls is restarted at once anyway).
  const p = await pool(startMethod, CRASH_SIZE, [], { restart: { maxRestarts: 100_000, withinMs: 1_000, backoff: { initialMs: 0, maxMs: 0 } } })
  const samples: Array<number> = []
  try {
    for (let i = 0; i < KILLS; i++) {
      const slot = p.snapshot().workers[i % CRASH_SIZE]!
      const pid = slot.pid!
      const replaced = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${startMethod}: ${slot.id} not ready again within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
        const off = p.on("worker", (e) => {
          if (e.workerId !== slot.id || e.type !== "state" || e.state !== "ready" || e.pid === pid) return
          clearTimeout(timer)
          off()
          resolve(performance.now())
        })
      })
      const t0 = performance.now()
      process.kill(pid, "SIGKILL")
      samples.push(await replaced - t0)
    }
  } finally {
    await p.close()
  }
  return samples
}

/** Median PSS and RSS (MiB) of the workers of a pool preloading numpy, once every worker has a reading. */
const memory = async (startMethod: Method): Promise<{ pss: number; rss: number }> => {
  const p = await pool(startMethod, PSS_SIZE, ["numpy"], { rssCheckIntervalMs: 50 })
  try {
    const end = performance.now() + TIMEOUT_MS
    while (!p.snapshot().workers.every((w) => w.pss !== null && w.rss !== null)) {
      if (performance.now() > end) throw new Error(`${startMethod}: no PSS reading (is /proc/<pid>/smaps_rollup there?)`)
      await new Promise((r) => setTimeout(r, 20))
    }
    const workers = p.snapshot().workers
    return { pss: median(workers.map((w) => w.pss! / 1048576)), rss: median(workers.map((w) => w.rss! / 1048576)) }
  } finally {
    await p.close()
  }
}

const p50 = (samples: ReadonlyArray<number>): number => quantiles(samples)(0.5)

/** Runs the fork-server bench, prints its tables, and returns its targets. */
export const forkserverBench = async (): Promise<Array<Target>> => {
  if (process.platform !== "linux") {
    return [{ name: "forkserver bench", target: "-", ours: `needs Linux (fork and smaps_rollup); this is ${process.platform}`, met: undefined }]
  }
  console.log(`\n## forkserver vs spawn (${PYTHON}; ${ROUNDS} interleaved rounds)`)
  const ready = await interleaved(ROUNDS, {
    spawn1: () => allReady("spawn", 1),
    spawn8: () => allReady("spawn", 8),
    fork8: () => allReady("forkserver", 8)
  })
  const [spawn1, spawn8, fork8] = [median(ready.spawn1), median(ready.spawn8), median(ready.fork8)]
  table([["all-ready, preload " + HEAVY.join(" + "), "median ms", "min-max ms", "x 1 spawned worker"],
    ["spawn, 1 worker", ms(spawn1), spread(ready.spawn1), "1.00x"],
    ["spawn, 8 workers", ms(spawn8), spread(ready.spawn8), `${(spawn8 / spawn1).toFixed(2)}x`],
    ["forkserver, 8 workers", ms(fork8), spread(ready.fork8), `${(fork8 / spawn1).toFixed(2)}x`]])

  const crash = { spawn: await replacements("spawn"), forkserver: await replacements("forkserver") }
  const [crashSpawn, crashFork] = [p50(crash.spawn), p50(crash.forkserver)]
  table([[`crash → replacement ready (${KILLS} SIGKILLs, ${CRASH_SIZE} workers)`, "p50 ms", "min-max ms"],
    ["spawn", ms(crashSpawn, 1), spread(crash.spawn, 1)],
    ["forkserver", ms(crashFork, 1), spread(crash.forkserver, 1)]])

  const mem = { spawn: await memory("spawn"), forkserver: await memory("forkserver") }
  table([[`memory per worker, numpy preloaded (${PSS_SIZE} workers, median)`, "PSS MiB", "RSS MiB"],
    ["spawn", ms(mem.spawn.pss, 1), ms(mem.spawn.rss, 1)],
    ["forkserver", ms(mem.forkserver.pss, 1), ms(mem.forkserver.rss, 1)]])

  const readyRatio = fork8 / spawn1
  const pssRatio = mem.forkserver.pss / mem.spawn.pss
  return [
    { name: "8 workers ready, numpy + scipy: forkserver vs 1 spawned worker", target: `<= ${READY_RATIO_TARGET}x`, ours: `${readyRatio.toFixed(2)}x (${ms(fork8)} vs ${ms(spawn1)} ms)`, met: readyRatio <= READY_RATIO_TARGET },
    { name: "crash → replacement ready p50, forkserver", target: `<= ${CRASH_P50_TARGET_MS} ms`, ours: `${ms(crashFork, 1)} ms (spawn ${ms(crashSpawn, 1)} ms)`, met: crashFork <= CRASH_P50_TARGET_MS },
    { name: "PSS per worker, numpy preloaded: forkserver vs spawn", target: `<= ${PSS_RATIO_TARGET * 100} %`, ours: `${(pssRatio * 100).toFixed(0)} % (${ms(mem.forkserver.pss, 1)} vs ${ms(mem.spawn.pss, 1)} MiB)`, met: pssRatio <= PSS_RATIO_TARGET }
  ]
}

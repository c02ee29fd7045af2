/**
 * `pyvisor demo`: starts a pool on the bundled quick-start worker, runs a mixed workload,
 * and prints what happened. Runs on the embedded defaults; needs only python3.
 */
import { fileURLToPath } from "node:url"
import { createPool, PythonError } from "../index.ts"

const EXAMPLE = fileURLToPath(new URL("../../examples/quickstart/", import.meta.url))

const percentile = (sorted: ReadonlyArray<number>, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0

/**
 * Runs the demo and resolves with its exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runDemo({ calls: 300, python: "python3" })
 * ```
 */
export const runDemo = async (options: { readonly calls: number; readonly python: string }): Promise<number> => {
  const started = performance.now()
  const pool = await createPool({ worker: { module: "my_workers", cwd: EXAMPLE, python: options.python } })
  const readyMs = performance.now() - started
  const pid = pool.snapshot().workers[0]?.pid
  console.log(`pool ready in ${readyMs.toFixed(0)} ms (python pid ${pid})`)
  const durations: Array<number> = []
  let errors = 0
  let pythonErrors = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: options.calls }, async (_, i) => {
    const s = performance.now()
    try {
      switch (i % 4) {
        case 0: await pool.call("add", { a: i, b: 1 }); break
        case 1: await pool.call("primes", { limit: 20_000 }); break
        case 2: await pool.call("slow_echo", { value: i, ms: 2 }); break
        default: await pool.call("divide", { a: i, b: i % 8 === 3 ? 0 : 2 })
      }
    } catch (error) {
      errors++
      if (error instanceof PythonError) pythonErrors++
      else throw error
    }
    durations.push(performance.now() - s)
  }))
  const wall = performance.now() - t0
  durations.sort((a, b) => a - b)
  for (const w of pool.snapshot().workers) console.log(`worker ${w.id}  pid ${w.pid}  state ${w.state}  calls ${w.calls}  restarts ${w.restarts}`)
  console.log(`${options.calls} calls in ${wall.toFixed(0)} ms: ${errors} errors (${pythonErrors} ZeroDivisionError on purpose), ` +
    `p50 ${percentile(durations, 0.5).toFixed(1)} ms, p99 ${percentile(durations, 0.99).toFixed(1)} ms, time to ready ${readyMs.toFixed(0)} ms`)
  await pool.close()
  return errors === pythonErrors ? 0 : 1
}

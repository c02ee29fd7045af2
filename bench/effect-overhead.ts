// Per-call overhead of the Effect API over the engine: sequential no-op calls on one worker.
// Run: node bench/effect-overhead.ts [calls=5000]
import { Effect, Layer, ManagedRuntime } from "effect"
import type { Pool } from "../src/pool/pool.ts"
import { createPool } from "../src/pool/create.ts"
import { fromEngine, makeRuntime, PythonPool } from "../src/effect/index.ts"
import { FIXTURES } from "../test/helpers.ts"

const calls = Number(process.argv[2] ?? 5_000)
const rounds = 5
const options = { worker: { module: "basic", cwd: FIXTURES }, size: 1 }

const stats = (xs: Array<number>): string => {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!
  const mean = s.reduce((a, b) => a + b, 0) / s.length
  return `median ${(at(0.5) * 1000).toFixed(1)} µs  p90 ${(at(0.9) * 1000).toFixed(1)} µs  mean ${(mean * 1000).toFixed(1)} µs`
}

const timeEach = async (n: number, one: () => Promise<unknown>, into: Array<number>): Promise<void> => {
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await one()
    into.push(performance.now() - t)
  }
}

const pool = await createPool(options)
const runtime = makeRuntime(options)
const service = await runtime.runPromise(PythonPool.useSync((py) => py))
const results: Record<string, Array<number>> = { direct: [], "runPromise(PythonPool.call)": [], "runPromise(service.call)": [], "inside Effect (yield* py.call)": [] }
const nativeLoop = (n: number, into: Array<number>) => Effect.gen(function*() {
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    yield* service.call("noop")
    into.push(performance.now() - t)
  }
})

// Warm up every path, then interleave rounds so drift affects all alike.
await timeEach(1_000, () => pool.call("noop"), [])
await timeEach(1_000, () => runtime.runPromise(PythonPool.call("noop")), [])
await runtime.runPromise(nativeLoop(1_000, []))
for (let r = 0; r < rounds; r++) {
  const n = Math.ceil(calls / rounds)
  await timeEach(n, () => pool.call("noop"), results["direct"]!)
  await timeEach(n, () => runtime.runPromise(PythonPool.call("noop")), results["runPromise(PythonPool.call)"]!)
  await timeEach(n, () => runtime.runPromise(service.call("noop")), results["runPromise(service.call)"]!)
  await runtime.runPromise(nativeLoop(n, results["inside Effect (yield* py.call)"]!))
}
for (const [name, xs] of Object.entries(results)) console.log(`${name.padEnd(32)} ${stats(xs)}  (n=${xs.length})`)
await pool.close()
await runtime.dispose()

// The same paths against an engine that answers at once: the bridge's own cost, without Python.
const stub = { call: (_name: string, _args: unknown, options: { signal?: AbortSignal }) => Promise.resolve(options.signal ? null : null) }
const stubRuntime = ManagedRuntime.make(Layer.succeed(PythonPool, fromEngine(stub as unknown as Pool)))
const pure: Record<string, Array<number>> = { "stub direct": [], "stub runPromise(PythonPool.call)": [] }
await timeEach(20_000, () => stub.call("noop", undefined, {}), [])
await timeEach(20_000, () => stubRuntime.runPromise(PythonPool.call("noop")), [])
for (let r = 0; r < rounds; r++) {
  await timeEach(20_000, () => stub.call("noop", undefined, {}), pure["stub direct"]!)
  await timeEach(20_000, () => stubRuntime.runPromise(PythonPool.call("noop")), pure["stub runPromise(PythonPool.call)"]!)
}
for (const [name, xs] of Object.entries(pure)) console.log(`${name.padEnd(32)} ${stats(xs)}  (n=${xs.length})`)
await stubRuntime.dispose()

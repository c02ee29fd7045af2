// npm run bench: every figure is printed next to a baseline measured in the same run.
import { callLatency } from "./call-latency.ts"
import { cpuPerCall } from "./cpu-per-call.ts"
import { crashRecovery } from "./crash.ts"
import { readyTime } from "./ready-time.ts"
import { table } from "./stats.ts"
import { throughput } from "./throughput.ts"

// The pool benches use the system interpreter, which has msgpack.
const PYTHON = "/usr/bin/python3"

console.log(`pyvisor bench — node ${process.version}, ${new Date().toISOString()}`)
const started = performance.now()
await callLatency()
await cpuPerCall()
const ready = await readyTime(PYTHON)
const cells = await throughput(PYTHON)
await crashRecovery(PYTHON)

// The original speed targets, next to what this run measured (the stricter fixture where there are two).
const worst32 = cells.filter((c) => c.concurrency === 32).reduce((a, b) => (b.summary.p99 > a.summary.p99 ? b : a))
const targets: Array<[string, number, number, string]> = [
  ["8 workers ready (300 ms import)", ready.slowImport.get(8)!, 20_000, "ms"],
  ["1 worker ready (300 ms import)", ready.slowImport.get(1)!, 3_000, "ms"],
  [`p99 call latency, concurrency 32 (worst: ${worst32.handler}, ${worst32.workers} worker${worst32.workers === 1 ? "" : "s"})`, worst32.summary.p99 / 1e6, 100, "ms"]
]
console.log("\n## original targets")
table([["target", "target", "ours", "result"],
  ...targets.map(([name, ours, limit, unit]) => [name, `< ${limit} ${unit}`, `${ours.toFixed(1)} ${unit}`, ours < limit ? "met" : "MISSED"])])
console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(0)} s`)

// Profiling helper (not part of `npm run bench`): sequential no-op calls on one worker.
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile-noop.ts [calls] [python]
// Prints p50/p99 and the host's CPU per call; PYVISOR_CODECS=json profiles the JSON codec.
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import { summarise, us } from "./stats.ts"

const CALLS = Number(process.argv[2] ?? 20_000)
const PYTHON = process.argv[3] ?? "/usr/bin/python3"
const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))

const codecs = process.env["PYVISOR_CODECS"]
const env = codecs === undefined ? {} : { PYVISOR_CODECS: codecs }
const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python: PYTHON, env }, size: 1 })
for (let i = 0; i < 500; i++) await pool.call("noop")
const samples: Array<number> = []
const cpu = process.cpuUsage()
const t0 = process.hrtime.bigint()
for (let i = 0; i < CALLS; i++) {
  const s = process.hrtime.bigint()
  await pool.call("noop")
  samples.push(Number(process.hrtime.bigint() - s))
}
const summary = summarise(samples, Number(process.hrtime.bigint() - t0))
const used = process.cpuUsage(cpu)
console.log(`${CALLS} no-op calls: p50 ${us(summary.p50)} us, p99 ${us(summary.p99)} us, ` +
  `${summary.perSecond.toFixed(0)} calls/s, host CPU ${((used.user + used.system) / CALLS).toFixed(1)} us/call`)
await pool.close()

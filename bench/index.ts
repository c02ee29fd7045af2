// npm run bench: every figure is printed next to a baseline measured in the same run.
import { callLatency } from "./call-latency.ts"

console.log(`pyvisor bench — node ${process.version}, ${new Date().toISOString()}`)
await callLatency()

import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import { FIXTURES } from "../helpers.ts"

const INDEX = fileURLToPath(new URL("../../src/index.ts", import.meta.url))

// A fresh process records every module it resolves: importing pyvisor, and a pool without the
// telemetry option, must load nothing of OpenTelemetry; a pool with it does.
const PROBE = `
import { registerHooks } from "node:module"
const loaded = []
registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); loaded.push(r.url); return r } })
const otel = () => loaded.filter((url) => url.includes("@opentelemetry") || url.includes("/src/telemetry/index.ts")).length
const { createPool } = await import(${JSON.stringify(INDEX)})
const afterImport = otel()
const worker = { module: "basic", cwd: ${JSON.stringify(FIXTURES)} }
const plain = await createPool({ worker, size: 1 })
await plain.call("noop")
await plain.close()
const afterPlainPool = otel()
const traced = await createPool({ worker, size: 1, telemetry: true })
await traced.call("noop")
await traced.close()
console.log(JSON.stringify({ afterImport, afterPlainPool, afterTracedPool: otel() }))
`

it("import \"pyvisor\" and a pool without telemetry load nothing of OpenTelemetry; telemetry: true does", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", PROBE])
  const counts = JSON.parse(stdout) as { afterImport: number; afterPlainPool: number; afterTracedPool: number }
  expect(counts.afterImport).toBe(0)
  expect(counts.afterPlainPool).toBe(0)
  expect(counts.afterTracedPool).toBeGreaterThanOrEqual(2)
})

import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import { FIXTURES } from "../helpers.ts"

const INDEX = fileURLToPath(new URL("../../src/index.ts", import.meta.url))

// A fresh process records every module it resolves: importing pyvisor (and making a pool) must not
// load the dashboard; asking for one does.
const PROBE = `
import { registerHooks } from "node:module"
const loaded = []
registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); loaded.push(r.url); return r } })
const dashboardModules = () => loaded.filter((url) => url.includes("/src/dashboard/")).length
const { createPool } = await import(${JSON.stringify(INDEX)})
const afterImport = dashboardModules()
const pool = await createPool({ worker: { module: "basic", cwd: ${JSON.stringify(FIXTURES)} }, size: 1 })
const afterPool = dashboardModules()
const dashboard = await pool.dashboard()
const afterDashboard = dashboardModules()
await pool.close()
console.log(JSON.stringify({ afterImport, afterPool, afterDashboard }))
`

it("import \"pyvisor\" does not load the dashboard; pool.dashboard() does", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", PROBE])
  const counts = JSON.parse(stdout) as { afterImport: number; afterPool: number; afterDashboard: number }
  expect(counts.afterImport).toBe(0)
  expect(counts.afterPool).toBe(0)
  expect(counts.afterDashboard).toBeGreaterThanOrEqual(5)
})

import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"

const INDEX = fileURLToPath(new URL("../src/index.ts", import.meta.url))

// What `import "pyvisor"` loads before any pool exists: the import-cost bench measures the time,
// this pins the cause. Effect's runtime, execa and ioredis load with the first pool or store that
// needs them; a stray top-level import of one of them costs every importer ~50-150 ms.
const PROBE = `
import { registerHooks } from "node:module"
const loaded = []
registerHooks({ resolve: (specifier, context, next) => { const r = next(specifier, context); loaded.push(r.url); return r } })
await import(${JSON.stringify(INDEX)})
console.log(JSON.stringify(loaded))
`

it("import \"pyvisor\" loads neither Effect's runtime nor execa nor ioredis", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", PROBE])
  const loaded = JSON.parse(stdout) as Array<string>
  expect(loaded.some((url) => url.endsWith("/src/index.ts"))).toBe(true)
  const heavy = loaded.filter((url) => /\/node_modules\/(execa|ioredis)\/|\/node_modules\/effect\/dist\/(Effect|Layer|Scope|Schedule|Fiber)\.js$/.test(url))
  expect(heavy).toEqual([])
})

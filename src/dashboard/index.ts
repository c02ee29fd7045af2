/**
 * `pool.dashboard()`: one live web page for one pool, served on 127.0.0.1 by node:http. Loaded on
 * demand (the pool imports this module dynamically), so `import "pyvisor"` does not pay for it.
 * @module
 */
import type { AddressInfo } from "node:net"
import { Feed } from "./feed.ts"
import type { DashboardSource } from "./feed.ts"
import { resolveDashboardOptions } from "./options.ts"
import type { DashboardOptions } from "./options.ts"
import { renderPage } from "./page.ts"
import { dashboardServer } from "./server.ts"

/**
 * A running dashboard.
 *
 * @example
 * ```ts
 * const dashboard: Dashboard = await pool.dashboard()
 * console.log(dashboard.url) // http://127.0.0.1:41234/
 * await dashboard.close()
 * ```
 */
export interface Dashboard {
  /** The page's address, with the port actually taken. */
  readonly url: string
  /** Stops serving: open pages are disconnected. Idempotent. */
  close(): Promise<void>
}

/**
 * @internal starts a dashboard over `source` (see `Pool.dashboard`). Rejects with
 * `InvalidOptionError` for bad options, or with the listen error (e.g. `EADDRINUSE`).
 */
export const startDashboard = async (source: DashboardSource, options: DashboardOptions): Promise<Dashboard> => {
  const o = resolveDashboardOptions(options)
  const feed = new Feed(source, o.controls)
  const server = dashboardServer({ page: renderPage({ title: "pyvisor" }), feed, source, controls: o.controls })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(o.port, o.host, () => {
        server.off("error", reject)
        resolve()
      })
    })
  } catch (error) {
    feed.close()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const host = o.host.includes(":") ? `[${o.host}]` : o.host
  let closing: Promise<void> | null = null
  return {
    url: `http://${host}:${port}/`,
    close: () => (closing ??= new Promise<void>((resolve) => {
      feed.close()
      server.close(() => resolve())
      server.closeAllConnections()
    }))
  }
}

export type { DashboardOptions } from "./options.ts"

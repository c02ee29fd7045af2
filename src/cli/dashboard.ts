/**
 * `pyvisor dashboard --module m [--size 4] [--port N] [--controls]`: starts a pool and its live
 * dashboard, prints the URL, and serves until SIGINT/SIGTERM, then closes the pool in order.
 * @module
 */
import { createPool } from "../index.ts"
import type { CliIo, DashboardCommandOptions } from "./program.ts"

/**
 * Runs the dashboard command until the process is asked to stop.
 *
 * @example
 * ```ts
 * await runDashboard({ module: ["my_workers"], size: 4, host: "127.0.0.1", port: 0, controls: false }, io)
 * ```
 */
export const runDashboard = async (options: DashboardCommandOptions, io: CliIo): Promise<void> => {
  const pool = await createPool({
    worker: { module: options.module, ...(options.cwd === undefined ? {} : { cwd: options.cwd }), ...(options.python === undefined ? {} : { python: options.python }) },
    size: options.size
  })
  try {
    const dashboard = await pool.dashboard({ host: options.host, port: options.port, controls: options.controls })
    io.out(`${dashboard.url}\n`)
    io.err(`pyvisor dashboard: ${options.size} workers of ${options.module.join(", ")}${options.controls ? ", controls on" : ""}; Ctrl-C stops\n`)
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off("SIGINT", stop)
        process.off("SIGTERM", stop)
        resolve()
      }
      process.on("SIGINT", stop)
      process.on("SIGTERM", stop)
    })
  } finally {
    await pool.close()
  }
}

/**
 * Options of `pool.dashboard()`, validated with the options kit (the message names the option and
 * quotes the bad value).
 * @module
 */
import { integer, invalid, keysOf, section } from "../options/kit.ts"

/**
 * Options of `pool.dashboard()`.
 *
 * @example
 * ```ts
 * const options: DashboardOptions = { port: 8080, controls: true }
 * ```
 */
export interface DashboardOptions {
  /** Port to listen on; 0 (the default) takes any free port (read it from `url`). */
  readonly port?: number
  /** Address to listen on. Default `127.0.0.1`: only this machine can see the page. */
  readonly host?: string
  /** Show kill and recycle buttons, and accept them (`POST` answers 403 otherwise). Default false. */
  readonly controls?: boolean
}

/** @internal options with defaults applied. */
export interface ResolvedDashboardOptions {
  readonly port: number
  readonly host: string
  readonly controls: boolean
}

const KEYS = keysOf<DashboardOptions>({ port: true, host: true, controls: true })

/**
 * Validates dashboard options and applies defaults.
 *
 * @example
 * ```ts
 * resolveDashboardOptions({ port: -1 }) // throws InvalidOptionError: dashboard.port must be an integer from 0 to 65535, got -1
 * ```
 */
export const resolveDashboardOptions = (options: DashboardOptions): ResolvedDashboardOptions => {
  const o = section("dashboard", options, KEYS, "an object like { port: 8080, controls: true }")
  const host = o["host"] ?? "127.0.0.1"
  if (typeof host !== "string" || host.length === 0) throw invalid("dashboard.host", host, "a non-empty host name or address")
  const controls = o["controls"] ?? false
  if (typeof controls !== "boolean") throw invalid("dashboard.controls", controls, "a boolean")
  return { port: integer("dashboard.port", o["port"], { min: 0, max: 65_535, fallback: 0 }), host, controls }
}

/**
 * The dashboard's HTTP server (node:http, nothing else): `GET /` the page, `GET /events` the feed,
 * `GET /state` the same view as JSON, `POST /workers/<id>/kill|recycle` the controls — refused with
 * 403 unless the dashboard was started with `controls: true`, and for requests from another origin.
 * @module
 */
import { createServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Feed, DashboardSource } from "./feed.ts"

/** The page may load nothing from anywhere: scripts and styles are inline, the feed is same-origin. */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"

const json = (response: ServerResponse, status: number, body: unknown): void => {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
  response.end(JSON.stringify(body))
}

/** A browser sends Origin with a cross-site POST: only this dashboard's own page may press its buttons. */
const sameOrigin = (request: IncomingMessage): boolean => {
  const origin = request.headers.origin
  if (origin === undefined) return true
  try {
    return new URL(origin).host === request.headers.host
  } catch {
    return false
  }
}

const CONTROL = /^\/workers\/([^/]+)\/(kill|recycle)$/

/** @internal what the server serves from. */
export interface ServerParts {
  readonly page: string
  readonly feed: Feed
  readonly source: DashboardSource
  readonly controls: boolean
}

/**
 * @internal a server answering the dashboard's routes (not yet listening).
 */
export const dashboardServer = (parts: ServerParts): Server =>
  createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://dashboard").pathname
    if (request.method === "GET" || request.method === "HEAD") {
      if (path === "/") {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": CSP })
        return void response.end(request.method === "HEAD" ? undefined : parts.page)
      }
      if (path === "/events") return parts.feed.attach(response)
      if (path === "/state") return json(response, 200, parts.feed.view())
      return json(response, 404, { error: `no page ${path}` })
    }
    const control = CONTROL.exec(path)
    if (request.method !== "POST" || control === null) return json(response, request.method === "POST" ? 404 : 405, { error: `${request.method} ${path} is not served` })
    if (!parts.controls) return json(response, 403, { error: "controls are off: start the dashboard with { controls: true } (CLI: --controls)" })
    if (!sameOrigin(request)) return json(response, 403, { error: `refused a request from origin ${request.headers.origin}` })
    const workerId = decodeURIComponent(control[1]!)
    const action = control[2] as "kill" | "recycle"
    const refused = parts.source.control(workerId, action)
    if (refused === null) return json(response, 200, { ok: true, workerId, action })
    return json(response, refused.startsWith("no worker") ? 404 : 409, { error: refused })
  })

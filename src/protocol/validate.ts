/**
 * Validation of every incoming (worker → host) message. Anything off-spec is a
 * {@link ProtocolViolation}; the caller kills the worker, the host never throws.
 */
import type { WorkerMessage } from "./messages.ts"

/** An incoming message broke protocol v1. */
export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message)
    this.name = "ProtocolViolation"
  }
}

type Raw = Record<string, unknown>

const LEVELS = new Set(["debug", "info", "warning", "error"])
const MAX_ID = 0xffff_ffff

const fail = (why: string, raw: unknown): never => {
  let shown: string
  try {
    shown = JSON.stringify(raw)?.slice(0, 200) ?? String(raw)
  } catch {
    shown = String(raw)
  }
  throw new ProtocolViolation(`${why}: ${shown}`)
}

const id = (m: Raw): void => {
  const v = m["id"]
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_ID) fail("missing or invalid id", m)
}
const str = (m: Raw, key: string): void => {
  if (typeof m[key] !== "string") fail(`field '${key}' must be a string`, m)
}
const has = (m: Raw, key: string): void => {
  if (!(key in m)) fail(`missing field '${key}'`, m)
}

const isMap = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
const isTime = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v)
const STATUSES = new Set(["ok", "error", "unset"])

// One span of a traced call's final frame (docs/protocol.md, "Spans"); checked only when present.
const span = (s: unknown): boolean => {
  if (!isMap(s)) return false
  const r = s as Raw
  const events = r["events"]
  return typeof r["id"] === "number" && Number.isInteger(r["id"]) && r["id"] > 0
    && typeof r["parent"] === "number" && Number.isInteger(r["parent"]) && r["parent"] >= 0
    && typeof r["name"] === "string" && isTime(r["start"]) && isTime(r["end"])
    && (r["attributes"] === undefined || isMap(r["attributes"]))
    && (r["status"] === undefined || STATUSES.has(r["status"] as string))
    && (r["message"] === undefined || typeof r["message"] === "string")
    && (events === undefined || (Array.isArray(events) && events.every((e) => isMap(e) && typeof (e as Raw)["name"] === "string" && isTime((e as Raw)["time"]))))
}

const spans = (m: Raw): void => {
  const v = m["spans"]
  if (v !== undefined && !(Array.isArray(v) && v.every(span))) fail("field 'spans' must be an array of spans {id, parent, name, start, end}", m)
}

/**
 * Checks the shape of a decoded worker message and returns it typed.
 *
 * @example
 * ```ts
 * parseWorkerMessage({ kind: "pong", id: 3 }) // ok
 * parseWorkerMessage({ kind: "pong" })        // throws ProtocolViolation
 * ```
 */
export const parseWorkerMessage = (raw: unknown): WorkerMessage => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    return fail("message is not a map", raw)
  }
  const m = raw as Raw
  switch (m["kind"]) {
    case "result":
      id(m); has(m, "value"); spans(m); break
    case "chunk":
      id(m); has(m, "value"); break
    case "error":
      id(m); str(m, "type"); str(m, "message")
      if (typeof m["traceback"] !== "string") fail("field 'traceback' must be a string", m)
      if (m["fullTraceback"] !== undefined && typeof m["fullTraceback"] !== "string") fail("field 'fullTraceback' must be a string", m)
      spans(m)
      break
    case "chunks":
      id(m)
      if (!Array.isArray(m["values"]) || m["values"].length === 0) fail("field 'values' must be a non-empty array", m)
      break
    case "end":
      id(m); spans(m); break
    case "pong":
      id(m); break
    case "host_call":
      id(m); str(m, "name")
      if (m["args"] !== undefined && m["args"] !== null && typeof m["args"] !== "object") fail("field 'args' must be a map or an array", m)
      if (m["call"] !== undefined && (typeof m["call"] !== "number" || !Number.isInteger(m["call"]))) fail("field 'call' must be an integer", m)
      break
    case "log":
      if (!LEVELS.has(m["level"] as string)) fail("invalid log level", m)
      str(m, "message"); break
    case "hello":
      if (typeof m["protocol"] !== "number") fail("field 'protocol' must be a number", m)
      if (typeof m["pid"] !== "number") fail("field 'pid' must be a number", m)
      str(m, "python")
      if (!Array.isArray(m["codecs"]) || !m["codecs"].every((c) => typeof c === "string")) fail("field 'codecs' must be a list of strings", m)
      break
    case "ready":
      if (m["status"] === "ok") {
        if (!Array.isArray(m["handlers"]) || !m["handlers"].every((h) => typeof h === "string")) fail("field 'handlers' must be a list of strings", m)
      } else if (m["status"] === "error") {
        str(m, "type"); str(m, "message"); str(m, "traceback")
      } else fail("field 'status' must be 'ok' or 'error'", m)
      break
    default:
      fail("unknown message kind", m)
  }
  return m as unknown as WorkerMessage
}

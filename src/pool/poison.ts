/**
 * Poison calls: a call whose execution killed `maxWorkerKills` workers (its idempotent retries and
 * other calls with the same poison key counted together) is refused with `PoisonCallError` for
 * `ttlMs`, instead of killing more workers and, with them, the pool's restart intensity.
 *
 * Only deaths the running call may have caused count ({@link causedByCall}): an exit (`os._exit`,
 * an uncaught fatal error), a fatal signal the process raised itself (SIGSEGV, SIGABRT…), the
 * kernel's OOM killer, a heartbeat kill (the call wedged its worker). A SIGKILL or SIGTERM from
 * outside (an operator, a deploy, a test) says nothing about the call that happened to be running:
 * counting those made common calls (a handler with no arguments) poison after two unrelated kills.
 *
 * The hot path pays one `Map.size` check: a call's key (the handler name and a hash of its encoded
 * arguments, unless the caller gives `poisonKey`) is computed only when its worker died under it,
 * or when its handler already has a kill on record.
 * @internal
 */
import { createHash } from "node:crypto"
import { PoisonCallError } from "../errors.ts"
import { msgpackCodec } from "../protocol/index.ts"
import type { CallArgs } from "../protocol/index.ts"
import type { WorkerCrashedError } from "../errors.ts"

/** Signals that come from outside a process: the call it was running did not cause them. */
const EXTERNAL_SIGNALS: ReadonlySet<string> = new Set(["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"])

/**
 * True when the crash may be the running call's doing (see the module comment).
 *
 * @example
 * ```ts
 * causedByCall(crash) // true for an exit code or SIGSEGV; false for a SIGKILL sent by an operator
 * ```
 */
export const causedByCall = (crash: WorkerCrashedError): boolean =>
  crash.reason === "exit" || crash.reason === "oom" || crash.reason === "heartbeat" ||
  (crash.reason === "signal" && !EXTERNAL_SIGNALS.has(crash.signal ?? ""))

/** Resolved `poison` options; `maxWorkerKills: Infinity` turns the rule off. */
export interface PoisonPolicy {
  readonly maxWorkerKills: number
  readonly ttlMs: number
}

/** What the table needs of a call. */
export interface PoisonSubject {
  readonly name: string
  readonly args: CallArgs | undefined
  readonly options: { readonly poisonKey?: string }
}

interface Record {
  kills: number
  /** Until when (on `now`) the kills count, or the key stays refused once it is poisoned. */
  until: number
}

/**
 * The key of a call: `poisonKey` when given, else its handler name and a hash of its arguments
 * as msgpack (the same value gives the same bytes; a value msgpack refuses is keyed by name).
 *
 * @example
 * ```ts
 * poisonKeyOf({ name: "parse", args: { doc: "x" }, options: {} }) // "parse:3f…"
 * ```
 */
export const poisonKeyOf = (call: PoisonSubject): string => {
  if (call.options.poisonKey !== undefined) return call.options.poisonKey
  let bytes: Uint8Array
  try {
    bytes = msgpackCodec.encode(call.args ?? null)
  } catch {
    return `${call.name}:unhashable`
  }
  return `${call.name}:${createHash("sha1").update(bytes).digest("hex")}`
}

// Handler names are never empty, so "" cannot clash with one.
const bucketOf = (call: PoisonSubject): string => (call.options.poisonKey === undefined ? call.name : "")

/**
 * Worker kills per poison key, grouped by handler name.
 *
 * @example
 * ```ts
 * const table = new PoisonTable({ maxWorkerKills: 2, ttlMs: 60_000 }, () => performance.now())
 * table.killed(job) // undefined, then a PoisonCallError at the second kill
 * ```
 */
export class PoisonTable {
  readonly #policy: PoisonPolicy
  readonly #now: () => number
  /** Records by handler name; those of explicit poison keys, shared across handlers, under "". */
  readonly #byName = new Map<string, Map<string, Record>>()

  constructor(policy: PoisonPolicy, now: () => number) {
    this.#policy = policy
    this.#now = now
  }

  /** The error refusing `call` now, if its key is poisoned. */
  check(call: PoisonSubject): PoisonCallError | undefined {
    if (this.#byName.size === 0) return undefined
    const bucket = bucketOf(call)
    const keys = this.#byName.get(bucket)
    if (keys === undefined) return undefined
    const key = poisonKeyOf(call)
    const record = this.#live(bucket, keys, key)
    return record !== undefined && record.kills >= this.#policy.maxWorkerKills ? this.#error(call.name, key, record) : undefined
  }

  /**
   * Records that `call`'s worker died while running it; returns the error to reject it with if
   * that kill made it poison (it must then not be retried).
   */
  killed(call: PoisonSubject): PoisonCallError | undefined {
    if (this.#policy.maxWorkerKills === Infinity) return undefined
    const key = poisonKeyOf(call)
    const bucket = bucketOf(call)
    let keys = this.#byName.get(bucket)
    if (keys === undefined) this.#byName.set(bucket, (keys = new Map()))
    const now = this.#now()
    const record = this.#live(bucket, keys, key) ?? { kills: 0, until: 0 }
    record.kills++
    record.until = now + this.#policy.ttlMs
    keys.set(key, record)
    return record.kills >= this.#policy.maxWorkerKills ? this.#error(call.name, key, record) : undefined
  }

  /** The record of `key` while it counts; an expired one is forgotten. */
  #live(name: string, keys: Map<string, Record>, key: string): Record | undefined {
    const record = keys.get(key)
    if (record === undefined || this.#now() < record.until) return record
    keys.delete(key)
    if (keys.size === 0) this.#byName.delete(name)
    return undefined
  }

  #error(name: string, key: string, record: Record): PoisonCallError {
    return new PoisonCallError({
      message: `'${name}' killed ${record.kills} worker${record.kills === 1 ? "" : "s"} (poison key ${key}); calls like it are refused for ${this.#policy.ttlMs} ms`,
      handler: name,
      poisonKey: key,
      workerKills: record.kills
    })
  }
}

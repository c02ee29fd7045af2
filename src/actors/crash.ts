/** Turns how a worker ended into the typed error its pending calls receive. */
import { ProtocolError, PythonError, WorkerCrashedError } from "../errors.ts"
import type { ExitInfo } from "../machines/worker.ts"
import type { ProcessExit } from "./python-process.ts"

/** What is known about one incarnation when it ends. */
export interface CrashFacts {
  readonly workerId: string
  readonly pid: number | null
  /** Why the machine left its live states (null if it never did, e.g. a clean stop). */
  readonly exit: ExitInfo | null
  /** What the OS reported. */
  readonly process: ProcessExit
  readonly stderrTail: string
  /** The kernel's OOM kills rose while it lived (see oom.ts). */
  readonly oomKillsRose?: boolean
  /** A Python exception behind an init error (from `ready {status:'error'}`). */
  readonly initError?: { readonly type: string; readonly message: string; readonly traceback: string }
  /** faulthandler's dump: every thread's Python stack at a fatal signal. */
  readonly stack?: string
  /** The oldest call in flight when it ended. */
  readonly call?: { readonly name: string; readonly id: number }
  /** The last resident set size sampled (only while RSS sampling runs). */
  readonly rssBytes?: number
}

const describeProcess = ({ code, signal }: ProcessExit): string =>
  signal ? `killed by ${signal}` : code === null ? "did not start" : `exited with code ${code}`

/**
 * Builds the error for calls that were pending when the worker ended.
 *
 * @example
 * ```ts
 * crashError({ workerId: "w1", pid: 7, exit, process: { code: null, signal: "SIGKILL" }, stderrTail: "" })
 * ```
 */
export const crashError = (facts: CrashFacts): WorkerCrashedError | ProtocolError => {
  const signalled = facts.exit?.reason ?? (facts.process.signal ? "signal" : "exit")
  // A SIGKILL pyvisor did not send, while the kernel killed for memory: the OOM killer's victim.
  const oom = signalled === "signal" && facts.process.signal === "SIGKILL" && facts.oomKillsRose === true
  const reason = oom ? "oom" : signalled
  const detail = oom
    ? "was killed by SIGKILL, likely by the kernel's out-of-memory killer (its OOM kill count rose meanwhile): give it more memory, or cap it with worker.maxMemoryMb to get a MemoryError instead"
    : facts.exit?.message ?? describeProcess(facts.process)
  if (reason === "protocol") {
    return new ProtocolError({
      message: `worker ${facts.workerId} (pid ${facts.pid}) broke the protocol and was killed: ${detail}`,
      workerId: facts.workerId,
      detail
    })
  }
  const tail = facts.stderrTail.trim()
  const init = facts.initError
  const message = init
    ? `worker ${facts.workerId} failed to start: ${init.type}: ${init.message}`
    : `worker ${facts.workerId} (pid ${facts.pid}) ${detail}` +
      (reason === "init_timeout" || reason === "heartbeat" || reason === "killed" ? ` (${describeProcess(facts.process)})` : "") +
      (facts.call ? ` while running '${facts.call.name}' (call ${facts.call.id})` : "") +
      (facts.stack ? `\n--- Python stack at the crash ---\n${facts.stack}` : "") +
      (tail ? `\n--- stderr (last ${Buffer.byteLength(tail)} bytes) ---\n${tail}` : "")
  return new WorkerCrashedError({
    message,
    workerId: facts.workerId,
    pid: facts.pid,
    reason,
    exitCode: facts.process.code,
    signal: facts.process.signal,
    stderrTail: facts.stderrTail,
    ...(facts.stack === undefined ? {} : { pythonStack: facts.stack }),
    ...(facts.call === undefined ? {} : { callName: facts.call.name, callId: facts.call.id }),
    ...(facts.rssBytes === undefined ? {} : { rssBytes: facts.rssBytes }),
    ...(init
      ? { cause: new PythonError({ message: `${init.type}: ${init.message}`, type: init.type, traceback: init.traceback, handler: "<import>", workerId: facts.workerId }) }
      : {})
  })
}

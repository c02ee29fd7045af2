// 32 concurrent callers over 2 worker processes, no-op calls: pyvisor (default prefetch) against
//  (a) the raw fd 3/4 echo floor with one call in flight per process (callers queue for a free one),
//  (b) the same echo pipelined: every caller's frame written at once, echoes matched in order,
//  (c) python-shell: 2 PythonShell processes in "json" mode (fixtures/pyshell_echo.py), calls
//      pipelined on the one with fewer unanswered, answers matched in order (the target's peer:
//      the fastest way to use it), and for information the same with one call in flight per process.
// For information too, pyvisor with prefetch 16, as deep a pipeline as python-shell's here.
// The raw floors carry the bytes of a msgpack no-op call frame. Interleaved rounds; medians of calls/s.
import { fileURLToPath } from "node:url"
import { PythonShell } from "python-shell"
import { createPool } from "../src/index.ts"
import { msgpackCodec } from "../src/protocol/index.ts"
import { openPipelinedEcho, openRawEcho } from "./raw-echo.ts"
import { callsPerSecond, interleaved, load, median, spread, table } from "./stats.ts"
import type { Target } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const CALLERS = 32
const PROCESSES = 2
const ROUNDS = Number(process.env["BENCH_PEERS_ROUNDS"] ?? 7)
const MEASURE_MS = Number(process.env["BENCH_PEERS_MS"] ?? 500)
const WARMUP_MS = 300
const RAW_TARGET = 2
const PEER_TARGET = 1.2
const DEEP_PREFETCH = 16

/** One call in flight per process, shared by queued callers: a call waits for a free process. */
const oneInFlight = <T extends { readonly once: () => Promise<void> }>(children: ReadonlyArray<T>): (() => Promise<void>) => {
  const free = [...children]
  const waiting: Array<(child: T) => void> = []
  return async () => {
    const child = free.pop() ?? await new Promise<T>((resolve) => waiting.push(resolve))
    await child.once()
    const next = waiting.shift()
    if (next === undefined) free.push(child)
    else next(child)
  }
}

/** A python-shell process answering one JSON line per JSON line, in order. */
const openShell = (python: string): { readonly once: () => Promise<void>; readonly pending: () => number; readonly close: () => void } => {
  const shell = new PythonShell("pyshell_echo.py", { mode: "json", pythonPath: python, scriptPath: FIXTURES, pythonOptions: ["-u"] })
  const waiting: Array<() => void> = []
  let head = 0
  let id = 0
  shell.on("message", () => {
    waiting[head++]!()
    if (head === waiting.length) {
      waiting.length = 0
      head = 0
    }
  })
  shell.on("error", (error) => console.error(`python-shell: ${error.message}`))
  return {
    once: () => new Promise((resolve) => {
      waiting.push(resolve)
      shell.send({ id: ++id, name: "noop", args: {} })
    }),
    pending: () => waiting.length - head,
    close: () => shell.kill("SIGKILL")
  }
}

/** Picks the least busy of `targets` for each call. */
const leastBusy = <T>(targets: ReadonlyArray<T>, busy: (t: T) => number, call: (t: T) => Promise<void>) => (): Promise<void> =>
  call(targets.reduce((a, b) => (busy(b) < busy(a) ? b : a)))

/** Runs the 32-caller no-op bench, prints its table, and returns its targets. */
export const concurrentNoop = async (python: string): Promise<Array<Target>> => {
  console.log(`\n## ${CALLERS} concurrent callers over ${PROCESSES} processes, no-op (${ROUNDS} interleaved rounds of ${MEASURE_MS} ms per side after ${WARMUP_MS} ms warm-up; medians; load ${load()})`)
  const payload = msgpackCodec.encode({ kind: "call", id: 1, name: "noop" })
  const single = Array.from({ length: PROCESSES }, () => openRawEcho(python, payload))
  const pipelined = Array.from({ length: PROCESSES }, () => openPipelinedEcho(python, payload))
  const shells = Array.from({ length: PROCESSES }, () => openShell(python))
  const shellsOne = Array.from({ length: PROCESSES }, () => openShell(python))
  const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: PROCESSES })
  const deep = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python, prefetch: DEEP_PREFETCH }, size: PROCESSES })
  try {
    const calls = {
      rawOne: oneInFlight(single),
      rawPipelined: leastBusy(pipelined, (p) => p.inFlight(), (p) => p.send()),
      pythonShell: leastBusy(shells, (s) => s.pending(), (s) => s.once()),
      pythonShellOne: oneInFlight(shellsOne),
      pyvisor: async () => {
        await pool.call("noop")
      },
      pyvisorDeep: async () => {
        await deep.call("noop")
      }
    }
    const cpu: Record<keyof typeof calls, Array<number>> = { rawOne: [], rawPipelined: [], pythonShell: [], pythonShellOne: [], pyvisor: [], pyvisorDeep: [] }
    const measure = (key: keyof typeof calls) => async (): Promise<number> => {
      const rate = await callsPerSecond(calls[key], CALLERS, MEASURE_MS)
      cpu[key].push(rate.cpuUsPerCall)
      return rate.perSecond
    }
    for (const call of Object.values(calls)) await callsPerSecond(call, CALLERS, WARMUP_MS)
    const rates = await interleaved(ROUNDS, {
      rawOne: measure("rawOne"), rawPipelined: measure("rawPipelined"), pythonShell: measure("pythonShell"),
      pythonShellOne: measure("pythonShellOne"), pyvisor: measure("pyvisor"), pyvisorDeep: measure("pyvisorDeep")
    })
    const m = {
      rawOne: median(rates.rawOne), rawPipelined: median(rates.rawPipelined), pythonShell: median(rates.pythonShell),
      pythonShellOne: median(rates.pythonShellOne), pyvisor: median(rates.pyvisor), pyvisorDeep: median(rates.pyvisorDeep)
    }
    const row = (label: string, key: keyof typeof m): Array<string> =>
      [label, m[key].toFixed(0), spread(rates[key]), (m.pyvisor / m[key]).toFixed(2) + "x", median(cpu[key]).toFixed(1)]
    table([["side", "calls/s", "(rounds)", "pyvisor (prefetch 2) vs it", "host CPU us/call"],
      row("(a) raw echo, one call in flight per process", "rawOne"),
      row("(b) raw echo, pipelined", "rawPipelined"),
      row("(c) python-shell x2, json lines, pipelined", "pythonShell"),
      row("    python-shell x2, one call in flight per process (info)", "pythonShellOne"),
      row("pyvisor, prefetch 2 (default), msgpack", "pyvisor"),
      row(`pyvisor, prefetch ${DEEP_PREFETCH} (info)`, "pyvisorDeep")])
    const vsRaw = m.pyvisor / m.rawOne
    const vsPeer = m.pyvisor / m.pythonShell
    return [
      { name: `${CALLERS} callers / ${PROCESSES} workers no-op vs one-in-flight raw floor`, target: `>= ${RAW_TARGET}x`, ours: vsRaw.toFixed(2) + "x", met: vsRaw >= RAW_TARGET },
      { name: `${CALLERS} callers / ${PROCESSES} workers no-op vs python-shell x${PROCESSES} (pipelined)`, target: `>= ${PEER_TARGET}x`, ours: vsPeer.toFixed(2) + "x", met: vsPeer >= PEER_TARGET }
    ]
  } finally {
    for (const s of single) s.close()
    for (const p of pipelined) p.close()
    for (const s of [...shells, ...shellsOne]) s.close()
    await pool.close()
    await deep.close()
  }
}

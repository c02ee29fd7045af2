/**
 * `pyvisor demo`: starts a pool on the bundled quick-start worker, watches it warm up, runs
 * a mixed concurrent workload (calls, a token stream, errors and timeouts on purpose), then
 * creates DSPy-style programs (examples/programs) globally and in sessions and runs them on
 * other workers, and prints what happened. Runs on the embedded defaults; needs only python3.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { createPool, PythonError } from "../index.ts"
import type { Pool } from "../index.ts"

const EXAMPLE = fileURLToPath(new URL("../../examples/quickstart/", import.meta.url))
/** The programs example, loaded by the same workers (absent from the npm package: then skipped). */
const PROGRAMS = fileURLToPath(new URL("../../examples/programs/qa_workers.py", import.meta.url))
const SENTENCE = "supervised pools of python workers stream tokens back to node one at a time"
const TIMEOUTS = 3
const TIMEOUT_MS = 100
/** Why the demo asks for each error. */
const WHY: Readonly<Record<string, string>> = {
  "PythonError(ZeroDivisionError)": "divide by 0; the worker lives on",
  CallTimeoutError: `timeoutMs ${TIMEOUT_MS} on a 3 s handler, which saw ctx.cancelled and stopped`
}
const NOT_FOUND = "pyvisor_worker.ProgramNotFound"

/** What `pyvisor demo` runs. */
export interface DemoOptions {
  readonly calls: number
  readonly workers: number
  readonly python: string
}

/** What a task ended with: `ok`, or an error kind such as `CallTimeoutError`. */
type Outcome = string

interface Task {
  /** The outcome asked for on purpose: `ok` for a call meant to succeed. */
  readonly expect: Outcome
  readonly run: () => Promise<unknown>
}

const kindOf = (error: unknown): Outcome => {
  if (error instanceof PythonError) return `PythonError(${error.type})`
  if (error instanceof Error) return (error as { readonly _tag?: string })._tag ?? error.name
  return typeof error
}

const printTable = (rows: ReadonlyArray<ReadonlyArray<string>>): void => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const row of rows) console.log("  " + row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd())
}

/** Listeners that print warm-up progress and remember the time to ready. */
const warmUpListeners = (tty: boolean, ready: { ms: number }) => ({
  warmup: ({ ready: n, total }: { readonly ready: number; readonly total: number }) => {
    const line = `warming up: ${n}/${total} workers ready`
    if (tty) process.stdout.write(`\r${line}${n >= total ? "\n" : ""}`)
    else console.log(line)
  },
  ready: (e: { readonly timeToReadyMs: number }) => (ready.ms = e.timeToReadyMs)
})

const workload = (pool: Pool, calls: number, streamed: Array<string>, firstTokenMs: { value: number }): Array<Task> => {
  const tasks: Array<Task> = []
  // Handlers that would run 3 s, given 100 ms: they time out, and Python sees ctx.cancelled.
  // Sent first, so they time out running on a worker rather than waiting in the queue.
  for (let i = 0; i < TIMEOUTS; i++) {
    tasks.push({ expect: "CallTimeoutError", run: () => pool.call("slow_echo", { value: i, ms: 3_000 }, { timeoutMs: TIMEOUT_MS }) })
  }
  tasks.push({
    expect: "ok",
    run: async () => {
      const t0 = performance.now()
      for await (const token of pool.stream("tokens", { text: SENTENCE })) {
        if (streamed.length === 0) firstTokenMs.value = performance.now() - t0
        streamed.push(String(token))
      }
    }
  })
  return tasks.concat(Array.from({ length: calls }, (_, i): Task => {
    switch (i % 4) {
      case 0: return { expect: "ok", run: () => pool.call("add", { a: i, b: 1 }) }
      case 1: return { expect: "ok", run: () => pool.call("primes", { limit: 20_000 }) }
      case 2: return { expect: "ok", run: () => pool.call("slow_echo", { value: i, ms: 2 }) }
      default: {
        const b = i % 8 === 3 ? 0 : 2
        return { expect: b === 0 ? "PythonError(ZeroDivisionError)" : "ok", run: () => pool.call("divide", { a: i, b }) }
      }
    }
  }))
}

interface ProgramCase {
  readonly name: string
  /** Undefined: global. */
  readonly session?: { readonly id: string; readonly affinity: "prefer" | "strict" }
  readonly signature: string
  readonly demos: ReadonlyArray<Readonly<Record<string, string>>>
  /** Inputs to run, each with the output it must give. */
  readonly runs: ReadonlyArray<readonly [Readonly<Record<string, string>>, Readonly<Record<string, string>>]>
}

const PROGRAM_CASES: ReadonlyArray<ProgramCase> = [
  {
    name: "capitals",
    signature: "question -> answer",
    demos: [
      { question: "What is the capital of France?", answer: "Paris" },
      { question: "What is the capital of Japan?", answer: "Tokyo" },
      { question: "Who wrote Hamlet?", answer: "Shakespeare" }
    ],
    runs: [[{ question: "who wrote hamlet?" }, { answer: "Shakespeare" }], [{ question: "capital of japan" }, { answer: "Tokyo" }]]
  },
  {
    name: "sentiment",
    signature: "review -> label",
    demos: [
      { review: "loved it, great acting", label: "positive" },
      { review: "boring and far too long", label: "negative" }
    ],
    runs: [[{ review: "great fun, loved the acting" }, { label: "positive" }], [{ review: "too long" }, { label: "negative" }]]
  },
  {
    name: "triage",
    session: { id: "user-1", affinity: "prefer" },
    signature: "ticket -> team",
    demos: [
      { ticket: "cannot log in after password reset", team: "accounts" },
      { ticket: "charged twice on my invoice", team: "billing" },
      { ticket: "app crashes when uploading a photo", team: "engineering" }
    ],
    runs: [[{ ticket: "invoice charged twice" }, { team: "billing" }], [{ ticket: "crashes on upload" }, { team: "engineering" }]]
  },
  {
    name: "translate",
    session: { id: "user-2", affinity: "strict" },
    signature: "english -> french",
    demos: [
      { english: "good morning", french: "bonjour" },
      { english: "thank you", french: "merci" },
      { english: "good night", french: "bonne nuit" }
    ],
    runs: [[{ english: "good morning everyone" }, { french: "bonjour" }], [{ english: "thank you so much" }, { french: "merci" }]]
  }
]

/** Calls served per worker incarnation (`id/pid`), to see which workers ran a step. */
const callCounts = (pool: Pool): Map<string, number> =>
  new Map(pool.snapshot().workers.map((w) => [`${w.id}/${w.pid ?? "-"}`, w.calls]))

/** The workers that served calls while `step` ran (nothing else runs meanwhile). */
const servedBy = async <A>(pool: Pool, step: () => Promise<A>): Promise<{ readonly value: A; readonly workers: Array<string> }> => {
  const before = callCounts(pool)
  const value = await step()
  const workers = [...callCounts(pool)].filter(([w, n]) => n > (before.get(w) ?? 0)).map(([w]) => w)
  return { value, workers }
}

const isNotFound = (error: unknown): boolean => error instanceof PythonError && error.type === NOT_FOUND

/**
 * Programs (any worker runs any program): each is created by one worker, which stores only its spec, then run
 * concurrently, so other workers build it from the stored spec. A `prefer` session spreads when
 * its worker is busy; a `strict` one waits for its worker. Returns the unintended outcomes.
 */
const runPrograms = async (pool: Pool): Promise<number> => {
  console.log(`\nprograms: DSPy-style few-shot predictors (examples/programs/qa_workers.py, same workers)`)
  const width = Math.max(1, pool.snapshot().workers.filter((w) => w.state === "ready").length)
  const rows: Array<Array<string>> = [["program", "scope", "created by", "executed by (each builds it once from the stored spec)", "sample"]]
  let created = 0
  let executed = 0
  let notFound = 0
  let unintended = 0
  const executors = new Set<string>()
  const ids = new Map<string, string>()
  for (const c of PROGRAM_CASES) {
    const session = c.session && pool.session(c.session.id, { affinity: c.session.affinity })
    const call = (name: string, args: Record<string, unknown>): Promise<unknown> => session ? session.call(name, args) : pool.call(name, args)
    const made = await servedBy(pool, () => call("create_program", { signature: c.signature, demos: c.demos }))
    const id = made.value as string
    ids.set(c.name, id)
    created++
    // As many concurrent runs as ready workers: a global or `prefer` call goes to any idle worker.
    const jobs = Array.from({ length: width }, (_, i) => c.runs[i % c.runs.length]!)
    const ran = await servedBy(pool, () => Promise.all(jobs.map(async ([inputs, expected]) => {
      try {
        const got = await call("run_program", { program_id: id, inputs })
        return JSON.stringify(got) === JSON.stringify(expected) ? "ok" : `wrong answer ${JSON.stringify(got)}`
      } catch (error) {
        return isNotFound(error) ? "not found" : kindOf(error)
      }
    })))
    executed += ran.value.length
    notFound += ran.value.filter((r) => r === "not found").length
    const bad = ran.value.filter((r) => r !== "ok")
    unintended += bad.length
    for (const w of ran.workers) executors.add(w)
    const [sampleIn, sampleOut] = c.runs[0]!
    rows.push([c.name, c.session ? `session ${c.session.id} (${c.session.affinity})` : "global", made.workers.join(" "),
      ran.workers.join(" ") + (bad.length ? `  FAILED: ${bad.join(", ")}` : ""),
      `${Object.values(sampleIn)[0]} -> ${Object.values(sampleOut)[0]}`])
  }
  printTable(rows)

  // Isolation, on purpose: another session, or a call with no session, cannot see a session's program.
  const isolated = "intentional: sessions are isolated"
  const checks: Array<readonly [string, string, () => Promise<unknown>]> = [
    ["session user-2 runs user-1's triage", isolated, () => pool.call("run_program", { program_id: ids.get("triage"), inputs: { ticket: "x" } }, { session: "user-2" })],
    ["a global call runs user-2's translate", isolated, () => pool.call("run_program", { program_id: ids.get("translate"), inputs: { english: "x" } })]
  ]
  for (const c of PROGRAM_CASES) if (c.session) await pool.session(c.session.id).close()
  // Closing a session deleted its keys, so its programs are gone even for a new session of the same id.
  checks.push(["after closing user-1, it runs triage again", "intentional: closing a session deletes its keys", () => pool.call("run_program", { program_id: ids.get("triage"), inputs: { ticket: "x" } }, { session: "user-1" })])
  for (const [what, why, run] of checks) {
    const outcome = await run().then(() => "ran", (error: unknown) => (isNotFound(error) ? "ProgramNotFound" : kindOf(error)))
    if (outcome !== "ProgramNotFound") unintended++
    console.log(`  ${what}: ${outcome} (${outcome === "ProgramNotFound" ? why : "UNINTENDED"})`)
  }
  await pool.session("user-1").close()
  console.log(`programs: ${created} created, ${executed} executed across ${executors.size} workers, ${notFound} not found`)
  return unintended
}

/**
 * Runs the demo and resolves with its exit code: 0 unless something failed that was not
 * meant to.
 *
 * @example
 * ```ts
 * process.exitCode = await runDemo({ calls: 400, workers: 4, python: "python3" })
 * ```
 */
export const runDemo = async (options: DemoOptions): Promise<number> => {
  console.log(`pyvisor demo: ${options.workers} workers (+2 overflow) on examples/quickstart/my_workers.py, python ${options.python}`)
  const ready = { ms: 0 }
  const pool = await createPool({
    worker: { module: existsSync(PROGRAMS) ? ["my_workers", PROGRAMS] : "my_workers", cwd: EXAMPLE, python: options.python },
    size: options.workers,
    overflow: 2,
    rssCheckIntervalMs: 200,
    // Registered before the first worker starts, so the warm-up can be watched.
    on: warmUpListeners(process.stdout.isTTY === true, ready)
  })
  try {
    const readyMs = ready.ms
    console.log(`pool ready: ${options.workers} workers in ${readyMs.toFixed(0)} ms`)
    const streamed: Array<string> = []
    const firstToken = { value: 0 }
    const tasks = workload(pool, options.calls, streamed, firstToken)
    console.log(`running ${tasks.length} concurrent tasks: ${options.calls} calls (add, primes, slow_echo, divide), ` +
      `1 token stream, ${TIMEOUTS} calls with timeoutMs ${TIMEOUT_MS} on a 3 s handler`)
    const t0 = performance.now()
    const outcomes = await Promise.all(tasks.map(async (task) => {
      let got: Outcome = "ok"
      try {
        await task.run()
      } catch (error) {
        got = kindOf(error)
      }
      return { expect: task.expect, got }
    }))
    const wallMs = performance.now() - t0
    console.log(`stream 'tokens': ${streamed.length} tokens, first after ${firstToken.value.toFixed(0)} ms: "${streamed.join(" ")}"`)

    const snap = pool.snapshot()
    console.log("\nworkers:")
    printTable([["id", "pid", "kind", "state", "calls", "restarts", "rss MiB"], ...snap.workers.map((w) => [
      w.id, String(w.pid ?? "-"), w.overflow ? "overflow" : "permanent", w.state, String(w.calls), String(w.restarts),
      w.rss === null ? "-" : (w.rss / 1048576).toFixed(1)
    ])])

    const errors = new Map<string, { intentional: number; unintended: number }>()
    let unintended = 0
    for (const { expect, got } of outcomes) {
      if (got === expect && got === "ok") continue
      const key = got === "ok" ? `no error (expected ${expect})` : got
      const entry = errors.get(key) ?? { intentional: 0, unintended: 0 }
      if (got === expect) entry.intentional++
      else {
        entry.unintended++
        unintended++
      }
      errors.set(key, entry)
    }
    const { callDurationMs: d, checkoutWaitMs: w, utilization } = snap.metrics
    console.log(`\nsummary (${wallMs.toFixed(0)} ms of workload):`)
    console.log(`  tasks         ${outcomes.length}`)
    console.log(`  errors        ${outcomes.filter((o) => o.got !== "ok").length}`)
    for (const [kind, n] of errors) {
      if (n.intentional > 0) console.log(`    ${kind}: ${n.intentional} (intentional: ${WHY[kind] ?? "asked for"})`)
      if (n.unintended > 0) console.log(`    ${kind}: ${n.unintended} (UNINTENDED)`)
    }
    console.log(`  call latency  p50 ${d.p50.toFixed(2)} ms, p99 ${d.p99.toFixed(2)} ms (${d.count} calls, in the worker)`)
    console.log(`  queue wait    p50 ${w.p50.toFixed(2)} ms, p99 ${w.p99.toFixed(2)} ms`)
    console.log(`  utilization   ${(utilization * 100).toFixed(0)}% of worker time busy since start`)
    console.log(`  time to ready ${readyMs.toFixed(0)} ms`)
    if (existsSync(PROGRAMS)) unintended += await runPrograms(pool)
    console.log(unintended === 0 ? "\nok: every error above was intentional" : `\nFAILED: ${unintended} unintended outcome(s)`)
    return unintended === 0 ? 0 : 1
  } finally {
    await pool.close()
  }
}

// Model-based lifecycle suite: random sequences of calls, streams, releases, aborts, timeouts
// (the test clock advanced), crashes, wedged workers, garbage, recycling and close, run against a
// real pool of fake workers. After each command every answer must be the one its call asked for
// and no call may have run twice unless retried as idempotent; at quiescence no job is lost and the
// pool is back to `size` workers; after close nothing is left: no call unsettled, no fake process
// alive, no timer that still does anything.
import fc from "fast-check"
import { describe, it } from "vitest"
import { Harness, TIMEOUTS, turns } from "./harness.ts"
import type { PoolShape } from "./harness.ts"

interface Model {
  closed: boolean
}

type Cmd = fc.AsyncCommand<Model, Harness>

const command = (label: string, run: (h: Harness) => Promise<void> | void, check: (m: Model) => boolean = () => true, after?: (m: Model) => void): Cmd => ({
  check,
  async run(m, h) {
    await run(h)
    after?.(m)
    await turns()
    h.checkAnswers()
    h.checkWorkConserving()
  },
  toString: () => label
})

const timeout = fc.option(fc.constantFrom(50, 300, 2_000), { nil: undefined })

const session = fc.constantFrom(undefined, undefined, "a", "b")
const call = fc.record({ session, strict: fc.boolean(), idempotent: fc.boolean(), hold: fc.boolean(), sync: fc.boolean(), timeoutMs: timeout, abortable: fc.boolean() }).map((o) =>
  command(`call(${JSON.stringify(o)})`, (h) => h.call("work", o)))
const stream = fc.record({ n: fc.integer({ min: 0, max: 6 }), breakAt: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }), timeoutMs: timeout, abortable: fc.boolean() }).map((o) =>
  command(`stream(${JSON.stringify(o)})`, (h) => h.call("stream", o)))
const release = fc.nat(20).map((i) => command(`release(${i})`, (h) => h.release(i)))

// Calls, streams and releases are drawn more often than the rest (an entry per weight unit).
const commands = [
  call, call, call, stream, stream, release, release,
  fc.nat(3).map((i) => command(`abort(${i})`, (h) => h.abort(i))),
  fc.constantFrom(1, 50, 100, 300, 1_000, 5_000).map((ms) => command(`advance(${ms})`, (h) => h.advance(ms))),
  fc.tuple(fc.nat(3), fc.constantFrom("SIGSEGV" as const, 1 as const, 0 as const)).map(([i, how]) => command(`crash(${i}, ${how})`, (h) => h.crash(i, how))),
  fc.constantFrom(50, 300).map((ms) => command(`hang(timeoutMs ${ms})`, (h) => h.call("hang", { timeoutMs: ms }))),
  fc.nat(3).map((i) => command(`garbage(${i})`, (h) => h.garbage(i))),
  fc.nat(3).map((i) => command(`sigterm(${i})`, (h) => h.sigterm(i))),
  fc.constant(command("badCall", (h) => h.call("bad", {}))),
  fc.constant(command(`recycle(advance ttl ${TIMEOUTS.ttlMs} ms)`, (h) => h.advance(TIMEOUTS.ttlMs + TIMEOUTS.sweepMs))),
  fc.constant(command("settle", (h) => h.settle(), (m) => !m.closed)),
  fc.constant(command("close", (h) => h.close(), (m) => !m.closed, (m) => (m.closed = true)))
]

const shape: fc.Arbitrary<PoolShape> = fc.record({
  size: fc.integer({ min: 1, max: 3 }),
  overflow: fc.integer({ min: 0, max: 2 }),
  prefetch: fc.integer({ min: 0, max: 2 }),
  concurrency: fc.integer({ min: 1, max: 2 }),
  maxCallsPerWorker: fc.option(fc.integer({ min: 2, max: 6 }), { nil: undefined }),
  codec: fc.constantFrom("json" as const, "msgpack" as const),
  initDelayMs: fc.constantFrom(0, 0, 300),
  crashAfter: fc.constantFrom(undefined, undefined, 2, 5),
  maxQueue: fc.constantFrom(1_000, 1),
  ttl: fc.boolean()
})

const NUM_RUNS = Number(process.env["LIFECYCLE_RUNS"] ?? 2_000)

describe("pool lifecycle (model-based, fake workers, TestClock)", () => {
  it(`holds its invariants over ${NUM_RUNS} random command sequences`, async () => {
    const started = performance.now()
    await fc.assert(fc.asyncProperty(shape, fc.commands(commands, { maxCommands: Number(process.env["LIFECYCLE_COMMANDS"] ?? 20) }), async (s, cmds) => {
      const h = await Harness.make(s)
      await fc.asyncModelRun(() => ({ model: { closed: false }, real: h }), cmds)
      // Every sequence ends with quiescence and close, whatever it did.
      if (!h.closed) {
        await h.settle()
        await h.close()
      }
    }), { numRuns: NUM_RUNS })
    // Reported, not asserted: the machine is shared, and no test here may depend on its speed.
    console.log(`lifecycle: ${NUM_RUNS} sequences in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }, 300_000)
})

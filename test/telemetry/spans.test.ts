import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api"
import type { ReadableSpan } from "@opentelemetry/sdk-trace"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { createPool, PythonError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, INTERPRETERS } from "../helpers.ts"
import { tracing, useContextManager } from "./otel.ts"

const ms = (t: readonly [number, number]): number => t[0] * 1000 + t[1] / 1e6
const byName = (spans: ReadonlyArray<ReadableSpan>, name: string): Array<ReadableSpan> => spans.filter((s) => s.name === name)
const one = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = byName(spans, name)
  expect(found.map((s) => s.name)).toEqual([name])
  return found[0]!
}

let removeContextManager: () => void
beforeAll(() => (removeContextManager = useContextManager()))
afterAll(() => removeContextManager())

describe.each(INTERPRETERS)("spans on $python ($codec)", ({ python, codec }) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  it("a call's span is a child of the caller's, and Python's spans are children of it", async () => {
    const t = tracing()
    pool = await createPool({ worker: { module: "traced", cwd: FIXTURES, python }, size: 1, telemetry: { tracerProvider: t.provider } })
    const tracer = t.provider.getTracer("test")
    const answer = await tracer.startActiveSpan("request", async (request) => {
      try {
        return await pool!.call("traced_work", { n: 3 }) as { traceparent: string; enabled: boolean; pid: number }
      } finally {
        request.end()
      }
    })
    const spans = (await t.spans())
    const request = one(spans, "request")
    const call = one(spans, "pyvisor.call traced_work")
    const load = one(spans, "python.load")
    const compute = one(spans, "python.compute")

    expect(call.kind).toBe(SpanKind.CLIENT)
    expect(call.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    expect(call.spanContext().traceId).toBe(request.spanContext().traceId)
    expect(call.status.code).not.toBe(SpanStatusCode.ERROR)
    expect(call.attributes).toMatchObject({
      "rpc.system": "pyvisor", "rpc.method": "traced_work", "pyvisor.worker.id": "w1", "pyvisor.worker.pid": answer.pid,
      "pyvisor.attempt": 1, "pyvisor.codec": codec, "pyvisor.outcome": "ok"
    })
    expect(call.attributes["pyvisor.queue_wait_ms"]).toBeGreaterThanOrEqual(0)
    expect(call.attributes["pyvisor.request.bytes"]).toBeGreaterThan(10)
    expect(call.attributes["pyvisor.response.bytes"]).toBeGreaterThan(10)

    // Python saw the call span's context, sampled.
    expect(answer).toMatchObject({ enabled: true, traceparent: `00-${call.spanContext().traceId}-${call.spanContext().spanId}-01` })

    expect(load.parentSpanContext?.spanId).toBe(call.spanContext().spanId)
    expect(compute.parentSpanContext?.spanId).toBe(load.spanContext().spanId)
    for (const s of [load, compute]) {
      expect(s.spanContext().traceId).toBe(call.spanContext().traceId)
      expect(s.attributes).toMatchObject({ "process.pid": answer.pid, "pyvisor.worker.id": "w1" })
      expect(s.status.code).toBe(SpanStatusCode.OK)
      // Python's own clock: inside the call span, give or take clock granularity.
      expect(ms(s.startTime)).toBeGreaterThanOrEqual(ms(call.startTime) - 50)
      expect(ms(s.endTime)).toBeLessThanOrEqual(ms(call.endTime) + 50)
      expect(ms(s.endTime)).toBeGreaterThanOrEqual(ms(s.startTime))
    }
    expect(load.attributes["n"]).toBe(3)
    expect(compute.events.map((e) => [e.name, e.attributes])).toEqual([["tick", { i: 1 }]])

    const start = one(spans, "pyvisor.worker.start")
    expect(start.parentSpanContext).toBeUndefined()
    expect(start.status.code).toBe(SpanStatusCode.OK)
    expect(start.attributes).toMatchObject({ "pyvisor.worker.id": "w1", "process.pid": answer.pid })
    expect(start.events.map((e) => e.name)).toEqual(["pyvisor.spawned"])
  })

  it("a failed call: error status and code on its span, Python's span marked too", async () => {
    const t = tracing()
    pool = await createPool({ worker: { module: "traced", cwd: FIXTURES, python }, size: 1, telemetry: { tracerProvider: t.provider } })
    await expect(pool.call("traced_fail")).rejects.toBeInstanceOf(PythonError)
    const call = one((await t.spans()), "pyvisor.call traced_fail")
    expect(call.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringContaining("nope") })
    expect(call.attributes).toMatchObject({ "pyvisor.outcome": "error", "error.type": "PYTHON_ERROR" })
    expect(call.events.map((e) => e.name)).toContain("exception")
    const fail = one((await t.spans()), "python.fail")
    expect(fail.parentSpanContext?.spanId).toBe(call.spanContext().spanId)
    expect(fail.status).toEqual({ code: SpanStatusCode.ERROR, message: "ValueError: nope" })
  })

  it("crash, retry and requeue are events of the call's span", async () => {
    const t = tracing()
    pool = await createPool({ worker: { module: "traced", cwd: FIXTURES, python, prefetch: 1 }, size: 1, telemetry: { tracerProvider: t.provider } })
    const marker = join(mkdtempSync(join(tmpdir(), "pyvisor-otel-")), "died")
    // `plain` is prefetched behind `die_once` on the one worker: it never starts there, and is requeued.
    const [survived, plain] = await Promise.all([pool.call("die_once", { marker }, { idempotent: true }), pool.call("plain", { value: 7 })])
    expect([survived, plain]).toEqual(["survived", 7])
    const spans = (await t.spans())
    const retried = one(spans, "pyvisor.call die_once")
    expect(retried.events.map((e) => e.name)).toEqual(["pyvisor.crash", "pyvisor.retry"])
    expect(retried.events[0]!.attributes).toMatchObject({ "pyvisor.worker.id": "w1", "pyvisor.started": true, "pyvisor.exit.reason": "exit" })
    expect(retried.attributes).toMatchObject({ "pyvisor.attempt": 2, "pyvisor.outcome": "ok" })
    const requeued = one(spans, "pyvisor.call plain")
    expect(requeued.events.map((e) => e.name)).toEqual(["pyvisor.crash", "pyvisor.requeue"])
    expect(requeued.events[0]!.attributes).toMatchObject({ "pyvisor.started": false })
    expect(requeued.attributes).toMatchObject({ "pyvisor.attempt": 1, "pyvisor.outcome": "ok" })
    // The span of the attempt that died has no Python child (its answer never came); the retry's has.
    expect(byName(spans, "python.die_once").map((s) => s.parentSpanContext?.spanId)).toEqual([retried.spanContext().spanId])
    const starts = byName(spans, "pyvisor.worker.start")
    expect(starts.map((s) => s.status.code)).toEqual([SpanStatusCode.OK, SpanStatusCode.OK])
  })

  it("without the telemetry option, a registered global provider gets no span and Python records none", async () => {
    const t = tracing()
    trace.setGlobalTracerProvider(t.provider)
    try {
      pool = await createPool({ worker: { module: "traced", cwd: FIXTURES, python }, size: 1 })
      const answer = await pool.call("traced_work", { n: 1 }) as { traceparent: string | null; enabled: boolean }
      expect(answer).toMatchObject({ traceparent: null, enabled: false })
      expect((await t.spans())).toEqual([])
    } finally {
      trace.disable()
    }
  })

  it("telemetry: true uses the global provider", async () => {
    const t = tracing()
    trace.setGlobalTracerProvider(t.provider)
    try {
      pool = await createPool({ worker: { module: "traced", cwd: FIXTURES, python }, size: 1, telemetry: true })
      await pool.call("plain", { value: 1 })
      expect((await t.spans()).map((s) => s.name).sort()).toEqual(["pyvisor.call plain", "pyvisor.worker.start"])
    } finally {
      trace.disable()
    }
  })
})

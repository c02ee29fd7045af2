import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { HistogramMetricData } from "@opentelemetry/sdk-metrics"
import { afterEach, describe, expect, it } from "vitest"
import { createPool, InvalidOptionError, PythonError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES } from "../helpers.ts"
import { metering, points } from "./otel.ts"

const histogramCounts = (metric: HistogramMetricData | undefined): Array<[Record<string, unknown>, number]> =>
  (metric?.dataPoints ?? []).map((p) => [{ ...p.attributes }, p.value.count])

describe("pool metrics through an OTel meter", () => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })

  it("counts calls and errors by code, times calls and queue waits, and observes workers and the queue", async () => {
    const m = metering()
    pool = await createPool({ worker: { module: "traced", cwd: FIXTURES, python: "/usr/bin/python3" }, size: 2, telemetry: { meterProvider: m.provider } })
    await Promise.all([pool.call("plain", { value: 1 }), pool.call("plain", { value: 2 }), pool.call("plain", { value: 3 })])
    await expect(pool.call("traced_fail")).rejects.toBeInstanceOf(PythonError)
    const metrics = await m.collect()

    const method = (name: string) => ({ "rpc.system": "pyvisor", "rpc.method": name })
    expect(points(metrics.get("pyvisor.calls"))).toEqual(expect.arrayContaining([
      [{ ...method("plain"), "pyvisor.outcome": "ok" }, 3],
      [{ ...method("traced_fail"), "pyvisor.outcome": "error", "error.type": "PYTHON_ERROR" }, 1]
    ]))
    expect(points(metrics.get("pyvisor.call.errors"))).toEqual([[{ ...method("traced_fail"), "error.type": "PYTHON_ERROR" }, 1]])
    expect(histogramCounts(metrics.get("pyvisor.call.duration") as HistogramMetricData)).toEqual(expect.arrayContaining([
      [{ ...method("plain"), "pyvisor.outcome": "ok" }, 3],
      [{ ...method("traced_fail"), "pyvisor.outcome": "error", "error.type": "PYTHON_ERROR" }, 1]
    ]))
    const waits = histogramCounts(metrics.get("pyvisor.call.queue_wait") as HistogramMetricData)
    expect(waits).toHaveLength(2)
    expect(waits).toEqual(expect.arrayContaining([[method("plain"), 3], [method("traced_fail"), 1]]))
    expect(metrics.get("pyvisor.call.duration")!.descriptor.unit).toBe("ms")
    expect(histogramCounts(metrics.get("pyvisor.worker.start.duration") as HistogramMetricData)).toEqual([[{}, 2]])
    expect(points(metrics.get("pyvisor.workers"))).toEqual([[{ "pyvisor.worker.state": "ready" }, 2]])
    expect(points(metrics.get("pyvisor.queue.length"))).toEqual([[{}, 0]])
    expect(metrics.has("pyvisor.worker.restarts")).toBe(false)
  })

  it("counts restarts and recycles; the queue gauge sees waiting calls", async () => {
    const m = metering()
    pool = await createPool({
      worker: { module: "traced", cwd: FIXTURES, python: "python3", prefetch: 0 }, size: 1, maxCallsPerWorker: 2,
      telemetry: { meterProvider: m.provider }
    })
    const marker = join(mkdtempSync(join(tmpdir(), "pyvisor-otel-")), "died")
    expect(await pool.call("die_once", { marker }, { idempotent: true })).toBe("survived")
    const restarted = await m.collect()
    expect(points(restarted.get("pyvisor.worker.restarts"))).toEqual([[{ "pyvisor.exit.reason": "exit" }, 1]])

    // Two more calls reach maxCallsPerWorker: the worker is recycled. The second waits in the queue meanwhile.
    const recycled = new Promise<void>((resolve) => pool!.on("recycle", () => resolve()))
    const both = Promise.all([pool.call("plain", { value: 1 }), pool.call("plain", { value: 2 })])
    expect(points((await m.collect()).get("pyvisor.queue.length"))).toEqual([[{}, 1]])
    await both
    await recycled
    const after = await m.collect()
    expect(points(after.get("pyvisor.worker.recycles"))).toEqual([[{ "pyvisor.recycle.reason": "calls" }, 1]])
    expect(points(after.get("pyvisor.worker.restarts"))).toEqual([[{ "pyvisor.exit.reason": "exit" }, 1]])
  })

  it("refuses a provider that is not one, naming the option", async () => {
    await expect(createPool({ worker: { module: "traced", cwd: FIXTURES }, telemetry: { tracerProvider: {} as never } }))
      .rejects.toThrow(new InvalidOptionError({ message: "telemetry.tracerProvider must be an OpenTelemetry TracerProvider (with getTracer()), got {}", option: "telemetry.tracerProvider", value: {} }))
    await expect(createPool({ worker: { module: "traced", cwd: FIXTURES }, telemetry: {} })).rejects.toThrow("telemetry must be a boolean, or an object like { tracerProvider, meterProvider } naming at least one, got {}")
    await expect(createPool({ worker: { module: "traced", cwd: FIXTURES }, telemetry: { meterprovider: 1 } as never })).rejects.toThrow(/telemetry\.meterprovider.*meterProvider/)
    await expect(createPool({ worker: { module: "traced", cwd: FIXTURES }, telemetry: "yes" as never })).rejects.toThrow("telemetry must be a boolean, or an object like { tracerProvider, meterProvider }, got 'yes'")
  })
})

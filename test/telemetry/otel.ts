// The OpenTelemetry SDK set up for the telemetry tests: an in-memory span exporter, a metric
// reader collected on demand, and AsyncLocalStorage as the context manager (for "child of the
// caller's active context").
import { context } from "@opentelemetry/api"
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks"
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics"
import type { DataPoint, MetricData } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace"
import type { ReadableSpan } from "@opentelemetry/sdk-trace"

/** A reader that exports nothing: tests call `collect()`. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** Registers AsyncLocalStorage as the global context manager; returns its removal. */
export const useContextManager = (): (() => void) => {
  const manager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(manager)
  return () => {
    manager.disable()
    context.disable()
  }
}

/** A tracer provider whose ended spans land in `exporter`; `spans()` waits for their (asynchronous) export. */
export const tracing = () => {
  const exporter = new InMemorySpanExporter()
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
  const spans = async (): Promise<ReadonlyArray<ReadableSpan>> => {
    await provider.forceFlush()
    return exporter.getFinishedSpans()
  }
  return { exporter, provider, spans }
}

/** A meter provider and a function collecting every metric it holds now, by name. */
export const metering = () => {
  const reader = new TestReader()
  const provider = new MeterProvider({ readers: [reader] })
  const collect = async (): Promise<Map<string, MetricData>> => {
    const { resourceMetrics, errors } = await reader.collect()
    if (errors.length > 0) throw errors[0]
    return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]))
  }
  return { provider, collect }
}

/** The data points of `metric` as [attributes, value] pairs. */
export const points = (metric: MetricData | undefined): Array<[Record<string, unknown>, unknown]> =>
  (metric?.dataPoints as Array<DataPoint<unknown>> | undefined ?? []).map((p) => [{ ...p.attributes }, p.value])

/**
 * The channel (the worker's connection): protocol v1 over any pair of byte streams. It runs the
 * handshake, correlates answers with calls by id and turns every off-spec byte into one violation
 * report. It never throws into the stream's event loop. How its frames leave (batched per turn of
 * the event loop) is the `Outbox`'s.
 *
 * It is the one owner of a worker's calls in flight: `pending` is their number (in send order),
 * `served` counts the finished ones, and it reports only edges, never each call: `pending` reaching
 * or leaving `capacity` (what the worker machine calls busy), and leaving or reaching 0 (busy time).
 */
import type { Readable, Writable } from "node:stream"
import {
  FrameReader, FrameTooLargeError, frameLength, HEADER_BYTES, jsonCodec, parseWorkerMessage, PROTOCOL_VERSION, ProtocolViolation, UnserializableError
} from "../protocol/index.ts"
import type { Call, Codec, ErrorMessage, Hello, HostCall, HostMessage, Log, Ready, WorkerMessage } from "../protocol/index.ts"
import type { CallTrace } from "../telemetry/types.ts"
import { Outbox } from "./outbox.ts"

/** Receives the answer(s) to one call. Exactly one of result/error/end/lost ends it. */
export interface CallSink {
  /** The call's session, for host calls made while it runs. */
  readonly session: string | undefined
  /** The handler's name, for crash reports. */
  readonly name?: string
  /** Its telemetry, when on: the frame carries its `traceparent`, sizes and Python's spans go to it. */
  readonly trace?: CallTrace | undefined
  result(value: unknown): void
  error(message: ErrorMessage): void
  /**
   * The worker ended before answering. `started` is false only when the call provably never
   * started in Python (see `Worker`), so it may run elsewhere.
   */
  lost(error: Error, started: boolean): void
  /** Only for stream calls: one item (a `chunks` frame gives its items one by one, in order). */
  chunk(value: unknown): void
  end(): void
}

/** What the channel tells its owner. */
export interface ChannelEvents {
  hello(hello: Hello): void
  ready(ready: Ready): void
  log(log: Log): void
  hostCall(call: HostCall): void
  pong(id: number): void
  /** Fired once; the channel is closed afterwards. */
  violation(error: ProtocolViolation): void
  /** `pending` reached `capacity` (true) or dropped below it again (false). */
  capacity(saturated: boolean): void
  /** `pending` left 0 (true) or came back to 0 (false). */
  activity(active: boolean): void
}

type Phase = "hello" | "ready" | "open" | "closed"

/** Optional messages offered in welcome: `chunks` (several stream items in one frame). */
const FEATURES: ReadonlyArray<string> = ["chunks"]

/**
 * A protocol channel.
 *
 * @example
 * ```ts
 * const ch = new Channel(proc.fromWorker, proc.toWorker, 64 << 20, events)
 * const id = ch.call({ name: "add", args: { a: 1, b: 2 } }, sink)
 * ```
 */
export class Channel {
  readonly #out: Outbox
  readonly #in: Readable
  readonly #events: ChannelEvents
  readonly #reader: FrameReader
  /** Calls in flight, in send order; streams are also in `#streams`. */
  readonly #pending = new Map<number, CallSink>()
  /** Stream calls in flight → items the worker may still send (its window plus credit granted, less items received). */
  readonly #streams = new Map<number, number>()
  readonly #maxFrameBytes: number
  #codec: Codec = jsonCodec
  #phase: Phase = "hello"
  #nextId = 1
  #violations = 0
  #served = 0
  readonly #capacity: number

  #whenIdle: (() => void) | null = null

  constructor(input: Readable, output: Writable, maxFrameBytes: number, events: ChannelEvents, capacity = 1) {
    this.#maxFrameBytes = maxFrameBytes
    this.#in = input
    this.#out = new Outbox(output)
    this.#events = events
    this.#capacity = capacity
    this.#reader = new FrameReader(maxFrameBytes)
    input.on("data", this.#onData)
  }

  /** The negotiated codec (json until welcome). */
  get codec(): Codec {
    return this.#codec
  }

  /** Calls awaiting an answer. */
  get pending(): number {
    return this.#pending.size
  }

  /** True while another call can be sent: the handshake is done and `pending < capacity`. */
  get hasRoom(): boolean {
    return this.#phase === "open" && this.#pending.size < this.#capacity
  }

  /** True while call `id` awaits its answer. */
  isPending(id: number): boolean {
    return this.#pending.has(id)
  }

  /** The sink of call `id` while it is in flight. */
  sink(id: number): CallSink | undefined {
    return this.#pending.get(id)
  }

  /** The call in flight when there is exactly one (whom a host call made now belongs to), else null. */
  soleCall(): { readonly id: number; readonly session: string | undefined } | null {
    if (this.#pending.size !== 1) return null
    const [id, sink] = this.#pending.entries().next().value!
    return { id, session: sink.session }
  }

  /** Runs `fn` once no call is in flight (at once if none is). One waiter at a time. */
  whenIdle(fn: () => void): void {
    if (this.#pending.size === 0) return fn()
    this.#whenIdle = fn
  }

  /** Calls answered (result, error or stream end) so far. */
  get served(): number {
    return this.#served
  }

  /** Protocol violations seen (0 or 1: the channel closes at the first). */
  get violations(): number {
    return this.#violations
  }

  /**
   * Answers hello (in JSON) and switches both sides to `codec`. Offers the optional `chunks`
   * message (batched stream items), which this channel accepts; older workers ignore the offer.
   */
  welcome(codec: Codec): void {
    this.#write({ kind: "welcome", codec: codec.name, features: FEATURES })
    this.#codec = codec
    this.#phase = "ready"
  }

  /**
   * Sends a call and registers its sink; returns the id. `window` makes it a stream call;
   * `deadline` is the ms left of its timeout (Python's `ctx.deadline`). Encodes
   * before registering, so an unserialisable argument (or a frame over `maxFrameBytes`, which the
   * worker would refuse) throws `UnserializableError` here and nothing is sent.
   */
  call(name: string, args: Call["args"], session: string | undefined, window: number | undefined, sink: CallSink, deadline?: number): number {
    const id = this.#nextId
    const message: { -readonly [K in keyof Call]: Call[K] } = { kind: "call", id, name }
    if (args !== undefined) message.args = args
    if (session !== undefined) message.session = session
    if (deadline !== undefined) message.deadline = deadline
    if (window !== undefined) {
      message.stream = true
      message.window = window
    }
    const trace = sink.trace
    if (trace?.traceparent !== undefined) message.traceparent = trace.traceparent
    const frame = this.#codec.frame(message)
    const bytes = frameLength(frame) - HEADER_BYTES
    if (bytes > this.#maxFrameBytes) {
      throw new UnserializableError(this.#codec.name, `the call is ${bytes} bytes, over maxFrameBytes (${this.#maxFrameBytes}) which the worker refuses`)
    }
    if (trace !== undefined) trace.sent(bytes, this.#codec.name)
    this.#nextId = id >= 0xffff_ffff ? 1 : id + 1
    this.#pending.set(id, sink)
    if (window !== undefined) this.#streams.set(id, window)
    this.#out.write(frame)
    // Edges are reported once the call is recorded, so whoever hears them sees it in flight.
    if (this.#pending.size === 1) this.#events.activity(true)
    if (this.#pending.size === this.#capacity) this.#events.capacity(true)
    return id
  }

  /** Forgets a call; a late answer for it is ignored, not a violation. */
  forget(id: number): void {
    if (this.#pending.has(id)) {
      this.#settled(id)
      this.#forgotten.add(id)
    }
  }

  // Deletes a finished call; the edge is reported before its sink runs, so whoever learns of the
  // answer already sees the room it left.
  #settled(id: number): void {
    const wasFull = this.#pending.size === this.#capacity
    this.#pending.delete(id)
    this.#streams.delete(id)
    this.#served++
    if (this.#pending.size === 0) {
      this.#events.activity(false)
      const idle = this.#whenIdle
      this.#whenIdle = null
      idle?.()
    }
    if (wasFull && this.#phase !== "closed") this.#events.capacity(false)
  }
  readonly #forgotten = new Set<number>()

  /** Sends any host → worker message other than call and welcome; a `credit` raises what the stream may send. */
  send(message: Exclude<HostMessage, Call>): void {
    if (message.kind === "credit") {
      const left = this.#streams.get(message.id)
      if (left !== undefined) this.#streams.set(message.id, left + message.n)
    }
    this.#write(message)
  }

  /** The oldest call in flight (the one running first), for crash reports. */
  oldest(): { readonly id: number; readonly sink: CallSink } | undefined {
    for (const [id, sink] of this.#pending) return { id, sink }
    return undefined
  }

  /** Stops reading and drops every pending sink without settling it; returns them in send order. */
  close(): Array<CallSink> {
    if (this.#pending.size > 0) this.#events.activity(false)
    this.#phase = "closed"
    this.#in.off("data", this.#onData)
    const sinks = [...this.#pending.values()]
    this.#pending.clear()
    this.#streams.clear()
    this.#forgotten.clear()
    this.#whenIdle = null
    return sinks
  }

  #write(message: HostMessage): void {
    if (this.#phase === "closed") return
    this.#out.write(this.#codec.frame(message))
  }

  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#reader.push(chunk, this.#onFrame)
    } catch (error) {
      const known = error instanceof FrameTooLargeError || error instanceof ProtocolViolation
      this.#violate(known ? error.message : `undecodable frame: ${(error as Error).message}`)
    }
  }

  readonly #onFrame = (payload: Buffer): void => {
    if (this.#phase === "closed") return
    let decoded: unknown
    try {
      // Frames before welcome (hello) are JSON whatever codec follows.
      decoded = this.#codec.decode(payload)
    } catch {
      throw new ProtocolViolation(`cannot decode a ${payload.length}-byte payload as ${this.#codec.name}`)
    }
    this.#dispatch(parseWorkerMessage(decoded), payload.length)
  }

  #dispatch(m: WorkerMessage, bytes: number): void {
    switch (m.kind) {
      case "hello":
        if (this.#phase !== "hello") return this.#violate("hello after the handshake")
        if (m.protocol !== PROTOCOL_VERSION) return this.#violate(`worker speaks protocol ${m.protocol}, host speaks ${PROTOCOL_VERSION}`)
        return this.#events.hello(m)
      case "ready":
        if (this.#phase !== "ready") return this.#violate(`ready ${this.#phase === "hello" ? "before hello" : "twice"}`)
        this.#phase = "open"
        return this.#events.ready(m)
      case "log":
        return this.#events.log(m)
      default:
        break
    }
    if (this.#phase !== "open") return this.#violate(`'${m.kind}' before the handshake completed`)
    switch (m.kind) {
      case "pong":
        return this.#events.pong(m.id)
      case "host_call":
        return this.#events.hostCall(m)
      default: {
        const sink = this.#pending.get(m.id)
        if (sink === undefined) {
          if (this.#forgotten.has(m.id)) {
            // Chunks of a forgotten stream keep coming until the worker sees the cancel.
            if (m.kind !== "chunk" && m.kind !== "chunks") this.#forgotten.delete(m.id)
            return
          }
          return this.#violate(`'${m.kind}' for unknown or settled call id ${m.id}`)
        }
        const left = this.#streams.get(m.id)
        if (m.kind === "result") {
          if (left !== undefined) return this.#violate(`'result' for stream call ${m.id}`)
          this.#settled(m.id)
          if (sink.trace !== undefined) sink.trace.answered(bytes, m.spans)
          return sink.result(m.value)
        }
        if (m.kind === "error") {
          this.#settled(m.id)
          if (sink.trace !== undefined) sink.trace.answered(bytes, m.spans)
          return sink.error(m)
        }
        if (left === undefined) return this.#violate(`'${m.kind}' for non-stream call ${m.id}`)
        if (m.kind === "chunk") {
          if (left < 1) return this.#violate(`'chunk' for stream call ${m.id} beyond its credit`)
          this.#streams.set(m.id, left - 1)
          return sink.chunk(m.value)
        }
        if (m.kind === "chunks") {
          const values = m.values
          const n = values.length
          if (left < n) return this.#violate(`'chunks' of ${n} items for stream call ${m.id} with credit for ${left}`)
          this.#streams.set(m.id, left - n)
          for (let i = 0; i < n; i++) sink.chunk(values[i])
          return
        }
        this.#settled(m.id)
        if (sink.trace !== undefined) sink.trace.answered(bytes, m.spans)
        return sink.end()
      }
    }
  }

  #violate(detail: string): void {
    if (this.#phase === "closed") return
    this.#violations++
    this.#phase = "closed"
    this.#in.off("data", this.#onData)
    this.#events.violation(new ProtocolViolation(detail))
  }
}

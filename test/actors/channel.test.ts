import { PassThrough } from "node:stream"
import { describe, expect, it } from "vitest"
import { Channel } from "../../src/actors/channel.ts"
import type { CallSink, ChannelEvents } from "../../src/actors/channel.ts"
import { encodeFrame, FrameReader, jsonCodec, msgpackCodec } from "../../src/protocol/index.ts"
import type { Codec } from "../../src/protocol/index.ts"

// Plays the worker's side of the pipes in memory.
const setup = (codec: Codec = msgpackCodec, capacity = 8) => {
  const fromWorker = new PassThrough()
  const toWorker = new PassThrough()
  const sent: Array<Record<string, unknown>> = []
  const reader = new FrameReader()
  let hostCodec: Codec = jsonCodec
  toWorker.on("data", (chunk: Buffer) => reader.push(chunk, (p) => {
    const m = hostCodec.decode(p) as Record<string, unknown>
    sent.push(m)
    if (m["kind"] === "welcome") hostCodec = codec
  }))
  const seen: Array<string> = []
  const events: ChannelEvents = {
    hello: () => {
      seen.push("hello")
      channel.welcome(codec)
    },
    ready: (r) => seen.push(`ready:${r.status}`),
    log: (l) => seen.push(`log:${l.message}`),
    hostCall: (c) => seen.push(`host_call:${c.name}`),
    pong: (id) => seen.push(`pong:${id}`),
    violation: (e) => seen.push(`violation:${e.message}`),
    capacity: (saturated) => seen.push(`capacity:${saturated}`),
    activity: (active) => seen.push(`activity:${active}`)
  }
  const channel = new Channel(fromWorker, toWorker, 1 << 20, events, capacity)
  let workerCodec: Codec = jsonCodec
  const send = (m: unknown): void => void fromWorker.write(encodeFrame(workerCodec.encode(m)))
  const handshake = (): void => {
    send({ kind: "hello", protocol: 1, pid: 1, python: "3.11", codecs: [codec.name] })
    workerCodec = codec
    send({ kind: "ready", status: "ok", handlers: ["f"] })
  }
  return { channel, send, sent, seen, handshake, flush: () => new Promise((r) => setImmediate(r)) }
}

const sink = (log: Array<string>, session?: string): CallSink => ({
  session,
  result: (v) => void log.push(`result:${JSON.stringify(v)}`),
  error: (m) => void log.push(`error:${m.type}`),
  chunk: (v) => void log.push(`chunk:${JSON.stringify(v)}`),
  end: () => void log.push("end"),
  lost: (e, started) => void log.push(`lost:${e.message}:${started}`)
})

describe("channel", () => {
  it("owns the calls in flight: reports only the edges where they reach and leave capacity, counts answers", async () => {
    const t = setup(msgpackCodec, 2)
    expect(t.channel.hasRoom).toBe(false) // no handshake yet
    t.handshake()
    await t.flush()
    const log: Array<string> = []
    expect(t.channel.hasRoom).toBe(true)
    const a = t.channel.call("f", undefined, "s1", undefined, sink(log, "s1"))
    expect(t.channel.soleCall()).toEqual({ id: a, session: "s1" })
    const b = t.channel.call("f", undefined, undefined, undefined, sink(log))
    expect(t.channel.soleCall()).toBeNull()
    expect([t.channel.hasRoom, t.channel.pending, t.channel.isPending(a)]).toEqual([false, 2, true])
    t.send({ kind: "result", id: a, value: 1 })
    await t.flush()
    expect(t.channel.hasRoom).toBe(true)
    const c = t.channel.call("f", undefined, undefined, undefined, sink(log))
    t.send({ kind: "result", id: b, value: 2 })
    t.send({ kind: "result", id: c, value: 3 })
    await t.flush()
    // full at a+b, room after a, full at b+c, room after b; c's answer crosses no edge.
    expect(t.seen.filter((e) => e.startsWith("capacity"))).toEqual(["capacity:true", "capacity:false", "capacity:true", "capacity:false"])
    expect([t.channel.pending, t.channel.served]).toEqual([0, 3])
  })

  it.each([msgpackCodec, jsonCodec])("runs the handshake and correlates answers by id ($name)", async (codec) => {
    const t = setup(codec)
    t.handshake()
    await t.flush()
    expect(t.seen).toEqual(["hello", "ready:ok"])
    expect(t.sent[0]).toEqual({ kind: "welcome", codec: codec.name, features: ["chunks"] })
    const log: Array<string> = []
    const a = t.channel.call("f", { x: 1 }, undefined, undefined, sink(log))
    const b = t.channel.call("f", undefined, undefined, undefined, sink(log))
    t.send({ kind: "result", id: b, value: "B" })
    t.send({ kind: "error", id: a, type: "KeyError", message: "m", traceback: "" })
    await t.flush()
    expect(log).toEqual(['result:"B"', "error:KeyError"])
    expect(t.sent.slice(1)).toEqual([{ kind: "call", id: a, name: "f", args: { x: 1 } }, { kind: "call", id: b, name: "f" }])
    expect(t.channel.pending).toBe(0)
  })

  it("streams chunks then end for a stream call", async () => {
    const t = setup()
    t.handshake()
    const log: Array<string> = []
    await t.flush()
    const id = t.channel.call("f", undefined, undefined, 8, sink(log))
    t.send({ kind: "chunk", id, value: 1 })
    t.send({ kind: "chunk", id, value: 2 })
    t.send({ kind: "end", id })
    await t.flush()
    expect(log).toEqual(["chunk:1", "chunk:2", "end"])
  })

  it("delivers a chunks frame's items in order, each counted against the stream's credit", async () => {
    const t = setup()
    t.handshake()
    await t.flush()
    const log: Array<string> = []
    const id = t.channel.call("f", undefined, undefined, 4, sink(log))
    t.send({ kind: "chunk", id, value: 0 })
    t.send({ kind: "chunks", id, values: [1, "two", { three: 3 }] })
    await t.flush()
    expect(log).toEqual(["chunk:0", "chunk:1", 'chunk:"two"', 'chunk:{"three":3}'])
    // The window (4) is used up; credit the host sends allows as many more items.
    t.channel.send({ kind: "credit", id, n: 3 })
    t.send({ kind: "chunks", id, values: [4, 5] })
    t.send({ kind: "chunk", id, value: 6 })
    t.send({ kind: "end", id })
    await t.flush()
    expect(log.slice(4)).toEqual(["chunk:4", "chunk:5", "chunk:6", "end"])
    expect(t.sent.at(-1)).toEqual({ kind: "credit", id, n: 3 })
    expect(t.seen.filter((s) => s.startsWith("violation"))).toEqual([])
    expect([t.channel.pending, t.channel.served]).toEqual([0, 1])
  })

  it.each([
    ["more items than the window", [{ kind: "chunks", values: [1, 2, 3] }], 0, /'chunks' of 3 items for stream call \d+ with credit for 2/],
    ["a chunk beyond the window", [{ kind: "chunks", values: [1, 2] }, { kind: "chunk", value: 3 }], 0, /'chunk' for stream call \d+ beyond its credit/],
    ["more items than window and credit", [{ kind: "chunks", values: [1, 2] }, { kind: "chunks", values: [3, 4] }], 1, /'chunks' of 2 items for stream call \d+ with credit for 1/]
  ])("reports a stream sending %s as a violation", async (_name, frames, credit, why) => {
    const t = setup()
    t.handshake()
    await t.flush()
    const log: Array<string> = []
    const id = t.channel.call("f", undefined, undefined, 2, sink(log))
    if (credit > 0) t.channel.send({ kind: "credit", id, n: credit })
    for (const frame of frames) t.send({ ...frame, id })
    await t.flush()
    const violations = t.seen.filter((s) => s.startsWith("violation:"))
    expect(violations).toHaveLength(1)
    expect(violations[0]).toMatch(why)
  })

  it.each([
    ["a second result for the same id", (id: number) => [{ kind: "result", id, value: 1 }, { kind: "result", id, value: 2 }], /unknown or settled call id/],
    ["a result for an id never sent", () => [{ kind: "result", id: 999, value: 1 }], /unknown or settled call id 999/],
    ["a chunk for a non-stream call", (id: number) => [{ kind: "chunk", id, value: 1 }], /non-stream call/],
    ["chunks for a non-stream call", (id: number) => [{ kind: "chunks", id, values: [1, 2] }], /'chunks' for non-stream call/],
    ["chunks with no values", (id: number) => [{ kind: "chunks", id, values: [] }], /non-empty array/],
    ["an unknown kind", () => [{ kind: "teapot", id: 1 }], /unknown message kind/],
    ["a second hello", () => [{ kind: "hello", protocol: 1, pid: 1, python: "3", codecs: ["json"] }], /hello after the handshake/]
  ])("reports %s as one violation and stops reading", async (_name, messages, why) => {
    const t = setup()
    t.handshake()
    await t.flush()
    const log: Array<string> = []
    const id = t.channel.call("f", undefined, undefined, undefined, sink(log))
    for (const m of messages(id)) t.send(m)
    t.send({ kind: "log", level: "info", message: "after" })
    await t.flush()
    const violations = t.seen.filter((s) => s.startsWith("violation:"))
    expect(violations).toHaveLength(1)
    expect(violations[0]).toMatch(why)
    expect(t.seen).not.toContain("log:after")
    expect(t.channel.violations).toBe(1)
  })

  it("rejects answers before the handshake and a wrong protocol version", async () => {
    const early = setup()
    early.send({ kind: "result", id: 1, value: 1 })
    await early.flush()
    expect(early.seen).toEqual([expect.stringMatching(/'result' before the handshake/)])
    const v2 = setup()
    v2.send({ kind: "hello", protocol: 2, pid: 1, python: "3", codecs: ["json"] })
    await v2.flush()
    expect(v2.seen).toEqual([expect.stringMatching(/protocol 2, host speaks 1/)])
  })

  it("ignores a late answer for a forgotten call, including a forgotten stream's chunks", async () => {
    const t = setup()
    t.handshake()
    await t.flush()
    const log: Array<string> = []
    const id = t.channel.call("f", undefined, undefined, undefined, sink(log))
    const sid = t.channel.call("f", undefined, undefined, 8, sink(log))
    t.channel.forget(id)
    t.channel.forget(sid)
    t.send({ kind: "result", id, value: 1 })
    t.send({ kind: "chunk", id: sid, value: 1 })
    t.send({ kind: "chunks", id: sid, values: [2, 3] })
    t.send({ kind: "chunk", id: sid, value: 4 })
    t.send({ kind: "end", id: sid })
    await t.flush()
    expect(log).toEqual([])
    expect(t.seen.filter((s) => s.startsWith("violation"))).toEqual([])
    // Forgotten once answered: a second answer is a violation again.
    t.send({ kind: "result", id, value: 1 })
    await t.flush()
    expect(t.channel.violations).toBe(1)
  })

  it("a call over maxFrameBytes throws before anything is sent or registered (the worker would refuse it)", async () => {
    const t = setup(jsonCodec)
    t.handshake()
    await t.flush()
    expect(() => t.channel.call("f", { s: "x".repeat(2 << 20) }, undefined, undefined, sink([]))).toThrow(/over maxFrameBytes \(1048576\)/)
    expect(t.channel.pending).toBe(0)
    await t.flush()
    expect(t.sent.filter((m) => m["kind"] === "call")).toEqual([])
  })

  it("an unencodable argument throws before anything is sent or registered", async () => {
    const t = setup(jsonCodec)
    t.handshake()
    await t.flush()
    expect(() => t.channel.call("f", { b: "\ud800" }, undefined, undefined, sink([]))).toThrow(/lone surrogate/)
    expect(t.channel.pending).toBe(0)
    await t.flush()
    expect(t.sent.filter((m) => m["kind"] === "call")).toEqual([])
  })

  it("close() hands back the pending sinks", async () => {
    const t = setup()
    t.handshake()
    await t.flush()
    t.channel.call("f", undefined, undefined, undefined, sink([]))
    expect(t.channel.close()).toHaveLength(1)
    expect(t.channel.pending).toBe(0)
  })
})

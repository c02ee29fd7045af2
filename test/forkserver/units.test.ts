// The fork-server's host-side pieces on their own: the option, the platform fallback, the
// zygote's environment, the rendezvous socket's authentication, a forked process's life, the
// control channel, and the zygote's ready timeout on the TestClock (with a real zygote).
import { connect } from "node:net"
import type { Socket } from "node:net"
import { describe, expect, it } from "vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { TestClock } from "effect/testing"
import { PassThrough } from "node:stream"
import { Control } from "../../src/actors/forkserver/control.ts"
import type { ZygoteMessage } from "../../src/actors/forkserver/control.ts"
import { ForkedProcess } from "../../src/actors/forkserver/forked.ts"
import { Rendezvous } from "../../src/actors/forkserver/rendezvous.ts"
import type { StreamName } from "../../src/actors/forkserver/rendezvous.ts"
import { forkAvailable, poolWorkers } from "../../src/actors/forkserver/supervision.ts"
import { zygoteEnv, zygoteResource } from "../../src/actors/forkserver/zygote.ts"
import { loadSpawner } from "../../src/actors/python-process.ts"
import { readPssBytes, readRssBytes } from "../../src/actors/rss.ts"
import { resolveOptions } from "../../src/pool/options.ts"
import { encodeFrame } from "../../src/protocol/frame.ts"
import { WorkerCrashedError } from "../../src/errors.ts"
import { FIXTURES, isAlive, rejection } from "../helpers.ts"

const RESTART = { intensity: { maxRestarts: 1, withinMs: 1_000 } }

describe("worker.startMethod", () => {
  it("defaults to spawn, takes forkserver, refuses anything else naming the option and the value", () => {
    expect(resolveOptions({ worker: { module: "m" } }).startMethod).toBe("spawn")
    expect(resolveOptions({ worker: { module: "m", startMethod: "forkserver" } }).startMethod).toBe("forkserver")
    const error = rejection(() => resolveOptions({ worker: { module: "m", startMethod: "fork" as never } }))
    expect(error.message).toMatch(/worker\.startMethod/)
    expect(error.message).toMatch(/"fork"|'fork'/)
  })

  it("falls back to spawn with a warning where fork is unavailable", async () => {
    expect(forkAvailable("linux")).toBe(true)
    expect(forkAvailable("darwin")).toBe(true)
    expect(forkAvailable("win32")).toBe(false)
    const logs: Array<string> = []
    const onLog = (_pid: number | null, _stream: string, level: string, line: string) => void logs.push(`${level}: ${line}`)
    const options = { spec: { module: "m" }, restart: RESTART, readyTimeoutMs: 1_000, killAfterMs: () => 1_000, onLog }
    const windows = await Effect.runPromise(Effect.scoped(poolWorkers("forkserver", options, "win32")))
    expect(windows.spawn).toBeUndefined()
    expect(logs).toEqual([expect.stringMatching(/^warning: worker\.startMethod "forkserver" needs fork, which win32 does not have/)])
    const linux = await Effect.runPromise(Effect.scoped(poolWorkers("forkserver", options, "linux")))
    expect(linux.spawn).toBeTypeOf("function")
    const spawned = await Effect.runPromise(Effect.scoped(poolWorkers("spawn", options, "linux")))
    expect(spawned.spawn).toBeUndefined()
    expect(logs).toHaveLength(1)
  })
})

describe("readPssBytes", () => {
  it.skipIf(process.platform !== "linux")("a live process has a PSS no larger than its RSS; a pid that cannot exist has none", async () => {
    const [pss, rss] = [await readPssBytes(process.pid), await readRssBytes(process.pid)]
    expect(pss).toBeGreaterThan(0)
    expect(pss!).toBeLessThanOrEqual(rss!)
    expect(await readPssBytes(2 ** 22 + 1)).toBeNull()
    await expect(readPssBytes(0)).rejects.toBeInstanceOf(RangeError)
  })
})

describe("zygoteEnv", () => {
  it("one native thread unless the user set (or inherits) the variable; the fork-server switch", () => {
    expect(zygoteEnv({ module: "m", env: { OMP_NUM_THREADS: "4", X: "y" } }, { MKL_NUM_THREADS: "3" })).toEqual({
      OMP_NUM_THREADS: "4", X: "y", OPENBLAS_NUM_THREADS: "1", PYVISOR_ZYGOTE: "1"
    })
    // Not inherited under inheritEnv "none": the default applies.
    expect(zygoteEnv({ module: "m", inheritEnv: "none" }, { MKL_NUM_THREADS: "3" })).toMatchObject({ MKL_NUM_THREADS: "1" })
  })
})

const dial = (path: string, line: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = connect(path, () => {
      socket.write(line)
      resolve(socket)
    })
    socket.once("error", reject)
  })

const closed = (socket: Socket): Promise<void> => new Promise((resolve) => socket.once("close", () => resolve()))

describe("Rendezvous", () => {
  it("hands a connection to its fork only with the right token, a known key and a stream name", async () => {
    const r = await Rendezvous.open()
    try {
      const got: Array<[StreamName, string]> = []
      const unexpect = r.expect("k1", (stream, socket) => {
        socket.once("data", (d: Buffer) => got.push([stream, d.toString()])).resume()
      })
      for (const bad of ["nope k1 protocol\n", `${r.token} k2 protocol\n`, `${r.token} k1 stdin\n`, `${r.token} k1 protocol extra\n`]) {
        const socket = await dial(r.path, bad)
        await closed(socket)
      }
      expect(got).toEqual([])
      // Bytes sent right behind the line stay for the reader.
      const good = await dial(r.path, `${r.token} k1 stdout\nhello`)
      await expect.poll(() => got).toEqual([["stdout", "hello"]])
      good.destroy()
      unexpect()
      const late = await dial(r.path, `${r.token} k1 stdout\n`)
      await closed(late)
    } finally {
      r.close()
    }
  })
})

describe("ForkedProcess", () => {
  it("a signal asked for before the pid is known is sent once it is; after the exit, none is", async () => {
    const forked = new ForkedProcess()
    expect(forked.process.pid).toBe(-1)
    expect(forked.process.kill("SIGTERM")).toBe(true)
    const sent: Array<[number, string | number | undefined]> = []
    const kill = process.kill
    process.kill = ((pid: number, signal?: string | number) => (sent.push([pid, signal]), true)) as typeof process.kill
    try {
      forked.forked(4242)
      expect(await forked.process.spawnError).toBeNull()
      expect(forked.process.pid).toBe(4242)
      expect(sent).toEqual([[4242, "SIGTERM"]])
      forked.exit({ code: 0, signal: null })
      expect(forked.process.kill("SIGKILL")).toBe(false)
      expect(sent).toHaveLength(1)
    } finally {
      process.kill = kill
    }
    expect(await forked.process.exited).toEqual({ code: 0, signal: null })
    // Streams it never connected are ended, so their readers do not wait.
    expect(forked.process.stdout.readableEnded || await new Promise((r) => forked.process.stdout.once("end", () => r(true)).resume())).toBe(true)
  })

  it("a failed fork is a spawn error and an exit without code or signal", async () => {
    const forked = new ForkedProcess()
    forked.failed(new Error("no zygote"))
    expect((await forked.process.spawnError)?.message).toBe("no zygote")
    expect(await forked.process.exited).toEqual({ code: null, signal: null })
  })
})

describe("Control", () => {
  it("decodes JSON frames; a frame that is not a control message is a violation, reported once", () => {
    const input = new PassThrough()
    const got: Array<ZygoteMessage> = []
    const violations: Array<string> = []
    new Control(new PassThrough(), input, (m) => got.push(m), (e) => violations.push(e.message))
    input.write(encodeFrame(Buffer.from(JSON.stringify({ kind: "exit", pid: 7, code: 0, signal: null }))))
    input.write(encodeFrame(Buffer.from("[1,2]")))
    input.write(encodeFrame(Buffer.from("{")))
    expect(got).toEqual([{ kind: "exit", pid: 7, code: 0, signal: null }])
    expect(violations).toEqual([expect.stringMatching(/not a control message/)])
  })
})

describe("zygoteResource", () => {
  it("a rendezvous socket that cannot be opened is a typed spawn_failed error, not a defect", async () => {
    const tmp = process.env["TMPDIR"]
    process.env["TMPDIR"] = "/nonexistent/pyvisor-test"
    try {
      const exit = await Effect.runPromiseExit(Effect.scoped(zygoteResource({ spec: { module: "basic", cwd: FIXTURES }, readyTimeoutMs: 1_000, killAfterMs: () => 100, onLog: () => {} })))
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
      expect(error).toBeInstanceOf(WorkerCrashedError)
      expect(error).toMatchObject({ workerId: "zygote", reason: "spawn_failed" })
      expect((error as Error).message).toMatch(/cannot open the rendezvous socket/)
    } finally {
      if (tmp === undefined) delete process.env["TMPDIR"]
      else process.env["TMPDIR"] = tmp
    }
  })

  it("a zygote whose imports outlast readyTimeoutMs (on the TestClock) fails with init_timeout and its stderr, and is killed", async () => {
    await loadSpawner()
    let printed!: () => void
    const importing = new Promise<void>((resolve) => (printed = resolve))
    const program = Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.scoped(zygoteResource({
        spec: { module: "never_ready", cwd: FIXTURES },
        readyTimeoutMs: 60_000,
        killAfterMs: () => 1_000,
        onLog: (stream, line) => stream === "stderr" && line.includes("importing, slowly") && printed()
      })))
      // The zygote is in the fixture's endless import (it said so); the TestClock has not moved.
      yield* Effect.promise(() => importing)
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("60 seconds")
      return yield* Fiber.await(fiber)
    })
    const exit = await Effect.runPromise(program.pipe(Effect.provide(TestClock.layer())))
    expect(Exit.isFailure(exit)).toBe(true)
    const crash = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
    expect(crash).toBeInstanceOf(WorkerCrashedError)
    expect(crash).toMatchObject({ workerId: "zygote", reason: "init_timeout" })
    expect((crash as WorkerCrashedError).stderrTail).toContain("never_ready: importing, slowly")
    expect((crash as WorkerCrashedError).pid).toBeGreaterThan(0)
    expect(isAlive((crash as WorkerCrashedError).pid!)).toBe(false)
  })
})

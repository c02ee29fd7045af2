// The heartbeat against real Python: C code holding the GIL starves the reader thread of pongs
// and gets the worker killed; a handler sleeping in Python (GIL released) keeps answering.
// Real clock, small intervals, generous margins; only "killed" / "not killed" is asserted.
import { Effect, Fiber } from "effect"
import { afterEach, beforeAll, describe, expect, it } from "vitest"
import { workerHeartbeat } from "../../src/actors/incarnation.ts"
import { loadSpawner } from "../../src/actors/python-process.ts"
import { Worker } from "../../src/actors/worker.ts"
import { WorkerCrashedError } from "../../src/errors.ts"
import { after } from "../../src/pool/after.ts"
import { heartbeat } from "../../src/supervisors/heartbeat.ts"
import type { HeartbeatEnd } from "../../src/supervisors/heartbeat.ts"
import { FIXTURES, INTERPRETERS, isAlive } from "../helpers.ts"

const OPTIONS = { intervalMs: 200, misses: 3 }
beforeAll(loadSpawner)

const actors: Array<Worker> = []
const fibers: Array<Fiber.Fiber<HeartbeatEnd>> = []
afterEach(async () => {
  for (const fiber of fibers.splice(0)) await Effect.runPromise(Fiber.interrupt(fiber))
  for (const actor of actors.splice(0)) {
    actor.kill({ type: "KILL", reason: "test over" })
    await actor.exited
  }
})

const startWorker = async (python: string): Promise<Worker> => {
  const actor = new Worker({ workerId: "w1", spec: { module: "wedged", cwd: FIXTURES, python }, initTimeoutMs: 30_000, timer: after }).start()
  actors.push(actor)
  await actor.ready
  return actor
}

/** One call on a bare worker, as a promise. */
const ask = (worker: Worker, name: string, args: Record<string, unknown>): Promise<unknown> =>
  new Promise((resolve, reject) => {
    worker.call(name, args, undefined, undefined, {
      session: undefined,
      result: resolve,
      error: (m) => reject(worker.answerError(name, m)),
      chunk: () => {},
      end: () => resolve(undefined),
      lost: reject
    })
  })

const watch = (actor: Worker): Fiber.Fiber<HeartbeatEnd> => {
  const fiber = Effect.runFork(heartbeat(workerHeartbeat(actor), OPTIONS))
  fibers.push(fiber)
  return fiber
}

describe.each(INTERPRETERS)("heartbeat with $python ($codec)", ({ python }) => {
  it("ping resolves on the pong of an idle worker, and rejects once it has exited", async () => {
    const actor = await startWorker(python)
    await Promise.all([actor.ping(), actor.ping(), actor.ping()])
    actor.kill({ type: "KILL", reason: "test" })
    await actor.exited
    await expect(actor.ping()).rejects.toThrow(/w1/)
  })

  it("a worker wedged in C code holding the GIL is killed; its call rejects naming the heartbeat", async () => {
    const actor = await startWorker(python)
    const fiber = watch(actor)
    const pid = actor.pid!
    const error = await ask(actor, "wedge", { n: 40 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    const crash = error as WorkerCrashedError
    expect(crash).toMatchObject({ reason: "heartbeat", signal: "SIGKILL", workerId: "w1", pid })
    expect(crash.message).toContain("was killed for missing heartbeats: no pong to 3 heartbeats (every 200 ms)")
    expect(await Effect.runPromise(Fiber.join(fiber))).toEqual({ _tag: "Killed", reason: "no pong to 3 heartbeats (every 200 ms)" })
    expect(actor.state).toBe("crashed")
    expect(actor.lastExit?.reason).toBe("heartbeat")
    await actor.exited
    expect(isAlive(pid)).toBe(false)
  })

  it("a busy but responsive worker (sleeping in Python far longer than interval × misses) is not killed", async () => {
    const actor = await startWorker(python)
    const fiber = watch(actor)
    // 1.5 s is 2.5 × (200 ms × 3): many heartbeats are answered by the reader thread meanwhile.
    expect(await ask(actor, "nap", { ms: 1_500 })).toBe(1_500)
    expect(actor.state).toBe("ready")
    expect(fiber.pollUnsafe()).toBeUndefined()
    expect(await ask(actor, "add", { a: 1, b: 2 })).toBe(3)
  })
})

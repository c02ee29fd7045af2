import { afterEach, describe, expect, it } from "vitest"
import type { AnyActorRef, InspectionEvent } from "xstate"
import { createPool, InvalidOptionError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, INTERPRETERS } from "../helpers.ts"

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

/** What an inspection observer saw, kept per actor. */
const recorder = () => {
  const events: Array<InspectionEvent> = []
  const actors: Array<AnyActorRef> = []
  const next = (event: InspectionEvent): void => {
    events.push(event)
    if (event.type === "@xstate.actor") actors.push(event.actorRef as AnyActorRef)
  }
  const bySystemId = (id: string): ReadonlyArray<AnyActorRef> => actors.filter((a) => (a as { systemId?: string }).systemId === id)
  const values = (actor: AnyActorRef): ReadonlyArray<string> =>
    events.flatMap((e) => (e.type === "@xstate.snapshot" && e.actorRef === actor ? [String((e.snapshot as unknown as { value: unknown }).value)] : []))
  const eventTypes = (actor: AnyActorRef): ReadonlyArray<string> =>
    events.filter((e) => e.type === "@xstate.event" && e.actorRef === actor).map((e) => (e as { event: { type: string } }).event.type)
  return { events, actors, next, bySystemId, values, eventTypes }
}

/** Consecutive duplicates removed: targetless transitions (HELLO) repeat a value. */
const changes = (values: ReadonlyArray<string>): ReadonlyArray<string> => values.filter((v, i) => v !== values[i - 1])

describe.each(INTERPRETERS)("inspect ($codec)", ({ python }) => {
  it("shows one actor tree: the pool as root, each worker incarnation a child under a stable systemId", async () => {
    const seen = recorder()
    pool = await createPool({ worker: { module: "basic", cwd: FIXTURES, python }, size: 2, inspect: { next: seen.next } })
    const [root] = seen.bySystemId("pool")
    expect(root).toBeDefined()
    expect(seen.actors[0]).toBe(root)
    expect(root!._parent).toBeUndefined()
    for (const id of ["worker:w1", "worker:w2"]) {
      const [worker] = seen.bySystemId(id)
      expect(worker, id).toBeDefined()
      expect(worker!._parent).toBe(root)
      expect(worker!.system).toBe(root!.system)
      expect(root!.system.get(id)).toBe(worker)
      expect(changes(seen.values(worker!))).toEqual(["spawning", "initializing", "ready"])
      expect(seen.eventTypes(worker!)).toEqual(expect.arrayContaining(["SPAWNED", "HELLO", "READY"]))
    }
    expect(changes(seen.values(root!))).toEqual(["starting", "ready"])
    // One tree: every inspection event names the pool as its root.
    expect(new Set(seen.events.map((e) => e.rootId))).toEqual(new Set([root!.sessionId]))

    // SIGKILL w1's process: its incarnation ends `crashed`, a new one registers as worker:w1 again.
    const pid = pool.snapshot().workers.find((w) => w.id === "w1")!.pid!
    process.kill(pid, "SIGKILL")
    await expect.poll(() => seen.bySystemId("worker:w1").length, { timeout: 30_000 }).toBe(2)
    const [old, fresh] = seen.bySystemId("worker:w1") as [AnyActorRef, AnyActorRef]
    await expect.poll(() => seen.values(fresh).at(-1), { timeout: 30_000 }).toBe("ready")
    expect(changes(seen.values(old))).toEqual(["spawning", "initializing", "ready", "crashed"])
    expect(old.getSnapshot()).toMatchObject({ status: "done", value: "crashed", context: { workerId: "w1", pid, lastExit: { reason: "signal", signal: "SIGKILL" } } })
    expect(seen.eventTypes(old)).toContain("EXITED")
    expect(changes(seen.values(fresh))).toEqual(["spawning", "initializing", "ready"])
    expect(fresh._parent).toBe(root)
    expect(fresh.sessionId).not.toBe(old.sessionId)
    expect(root!.system.get("worker:w1")).toBe(fresh)
    expect((fresh.getSnapshot() as { context: { pid: number } }).context.pid).toBe(pool.snapshot().workers.find((w) => w.id === "w1")!.pid)
    // The pool machine went degraded while w1 was missing, and ready again.
    await expect.poll(() => changes(seen.values(root!)), { timeout: 30_000 }).toEqual(["starting", "ready", "degraded", "ready"])
    // w2 was left alone.
    expect(seen.bySystemId("worker:w2")).toHaveLength(1)
  })
})

describe("inspect option", () => {
  it("accepts a plain function", async () => {
    const types = new Set<string>()
    pool = await createPool({ worker: { module: "basic", cwd: FIXTURES }, size: 1, inspect: (e) => void types.add(e.type) })
    expect(await pool.call("add", { a: 1, b: 2 })).toBe(3)
    expect([...types]).toEqual(expect.arrayContaining(["@xstate.actor", "@xstate.event", "@xstate.snapshot"]))
  })

  it.each([
    ["a number", 42, "inspect must be a function or an observer object with a next(event) method, got 42"],
    ["an object without next", {}, "got {}"],
    ["a non-function next", { next: true }, "got { next: true }"]
  ])("refuses %s, naming the option and the value", async (_, inspect, message) => {
    const error = await createPool({ worker: { module: "basic", cwd: FIXTURES }, size: 1, inspect: inspect as never }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).message).toContain(message)
    expect(error).toMatchObject({ option: "inspect" })
  })
})

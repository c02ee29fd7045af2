// Issue requirement: two pools in two separate Node processes sharing one Redis: a program
// created through host A executes through host B. Each host is a child Node process
// (test/fixtures/store-host.ts) driven by JSON lines; all keys live under a prefix unique to
// this run, deleted (SCAN + DEL) at the end.
import { spawn } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import { scanKeys } from "./redis-keys.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, isWorker } from "../helpers.ts"

const NODE = fileURLToPath(new URL("../../node_modules/.bin/node", import.meta.url))
const HOST = fileURLToPath(new URL("../fixtures/store-host.ts", import.meta.url))
const REDIS = "redis://127.0.0.1:6379"
const PREFIX = `pyvisor-test:${process.pid}:${randomBytes(6).toString("hex")}:two-hosts:`
const READY_TIMEOUT_MS = 20_000

interface Failure {
  readonly name: string
  readonly code?: string
  readonly type?: string
  readonly message: string
}
type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Failure }
interface Ran {
  readonly output: unknown
  readonly pid: number
}


/** One child Node process running a pool on the shared Redis store. */
class Host {
  readonly name: string
  readonly pids: ReadonlyArray<number>
  readonly exited: Promise<number | null>
  readonly #child: ChildProcessWithoutNullStreams
  readonly #waiting = new Map<number, (reply: Reply) => void>()
  #next = 0

  private constructor(name: string, child: ChildProcessWithoutNullStreams, pids: ReadonlyArray<number>, lines: AsyncIterator<string>, exited: Promise<number | null>) {
    this.name = name
    this.#child = child
    this.pids = pids
    this.exited = exited
    void (async () => {
      for (let r = await lines.next(); !r.done; r = await lines.next()) {
        const { id, ...reply } = JSON.parse(r.value) as Reply & { readonly id: number }
        this.#waiting.get(id)?.(reply as Reply)
        this.#waiting.delete(id)
      }
    })()
  }

  static async start(name: string): Promise<Host> {
    const child = spawn(NODE, [HOST, PREFIX, "2"], { stdio: ["pipe", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    const first = await Promise.race([
      lines.next(),
      exited.then((code) => Promise.reject(new Error(`host ${name} exited (${code}) before ready: ${stderr}`))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`host ${name} not ready within ${READY_TIMEOUT_MS} ms: ${stderr}`)), READY_TIMEOUT_MS).unref())
    ])
    if (first.done) throw new Error(`host ${name} closed stdout: ${stderr}`)
    const { pids } = JSON.parse(first.value) as { readonly pids: Array<number> }
    return new Host(name, child, pids, lines, exited)
  }

  request(op: "call" | "pids" | "close", fields: Record<string, unknown> = {}): Promise<Reply> {
    const id = this.#next++
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve)
      this.#child.stdin.write(JSON.stringify({ id, op, ...fields }) + "\n")
    })
  }

  /** A call's value; rejects with the host's error description. */
  async call(name: string, args: Record<string, unknown>, session?: string): Promise<unknown> {
    const reply = await this.request("call", { name, args, ...(session === undefined ? {} : { session }) })
    if (!reply.ok) throw Object.assign(new Error(reply.error.message), reply.error)
    return reply.value
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL")
  }
}

const client = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 })

const scanAll = (pattern: string): Promise<Array<string>> => scanKeys(client, pattern)

const deleteAll = async (): Promise<void> => {
  const keys = await scanAll(`${PREFIX}*`)
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500))
}

const DEMOS = [
  { question: "What is the capital of France?", answer: "Paris" },
  { question: "Who wrote Hamlet?", answer: "Shakespeare" },
  { question: "How many legs does a spider have?", answer: "eight" }
]

describe("two hosts sharing one Redis store", () => {
  let a: Host
  let b: Host

  beforeAll(async () => {
    await client.connect()
    ;[a, b] = await Promise.all([Host.start("A"), Host.start("B")])
  })

  afterAll(async () => {
    // Safety net for a failed test; the last test does this and checks it.
    a?.kill()
    b?.kill()
    await deleteAll()
    await client.quit()
  })

  it("runs two separate hosts with distinct workers", () => {
    expect(a.pids).toHaveLength(2)
    expect(b.pids).toHaveLength(2)
    expect(a.pids.filter((pid) => b.pids.includes(pid))).toEqual([])
    for (const pid of [...a.pids, ...b.pids]) expect(isWorker(pid), `worker ${pid}`).toBe(true)
  })

  it("a program created through host A executes through host B (global scope and session s1)", async () => {
    const globalId = await a.call("create_program", { kind: "predict", spec: { signature: "question -> answer", demos: DEMOS } }) as string
    const sessionId = await a.call("create_program", { kind: "echo", spec: { from: "A", scope: "s1" } }, "s1") as string
    expect(globalId).toMatch(/^prog_[0-9a-f]{32}$/)
    expect(sessionId).toMatch(/^prog_[0-9a-f]{32}$/)
    // Only specs are stored, in Redis under the run's prefix: the global hash and session s1's hash.
    expect(await client.hexists(`${PREFIX}global`, `dprogram:${globalId}`)).toBe(1)
    expect(await client.hexists(`${PREFIX}data:s1`, `dprogram:${sessionId}`)).toBe(1)

    // Host B: several concurrent runs, so both of its workers build the program from the spec.
    const questions = ["who wrote hamlet?", "capital of france", "spider legs?", "who wrote hamlet, really?"]
    const runs = await Promise.all(questions.map((question) => b.call("run_program", { program_id: globalId, input: { question } }) as Promise<Ran>))
    expect(runs.map((r) => r.output)).toEqual([{ answer: "Shakespeare" }, { answer: "Paris" }, { answer: "eight" }, { answer: "Shakespeare" }])
    const ranOn = new Set(runs.map((r) => r.pid))
    for (const pid of ranOn) {
      expect(b.pids).toContain(pid)
      expect(a.pids).not.toContain(pid)
    }

    const inSession = await b.call("run_program", { program_id: sessionId, input: 7 }, "s1") as Ran
    expect(inSession.output).toEqual({ spec: { from: "A", scope: "s1" }, input: 7 })
    expect(b.pids).toContain(inSession.pid)
    expect(a.pids).not.toContain(inSession.pid)

    // Each scope sees only its own programs: the session one is not global nor in another
    // session, and a session call does not see the global one.
    const notFound = { name: "PythonError", type: "pyvisor_worker.ProgramNotFound" }
    await expect(b.call("run_program", { program_id: sessionId, input: 1 })).rejects.toMatchObject(notFound)
    await expect(b.call("run_program", { program_id: sessionId, input: 1 }, "s2")).rejects.toMatchObject(notFound)
    await expect(b.call("run_program", { program_id: globalId, input: { question: "hamlet" } }, "s1")).rejects.toMatchObject(notFound)

    // Deleted through B: A's worker, which built it at creation, notices on its next call.
    expect(await b.call("delete_program", { program_id: sessionId }, "s1")).toBe(true)
    await expect(a.call("run_program", { program_id: sessionId, input: 1 }, "s1")).rejects.toMatchObject(notFound)
  })

  it("session keys put through A are visible through B in the same session, not in another session or global", async () => {
    const version = await a.call("store_put", { key: "k", value: { from: "A" } }, "s1") as number
    expect(await b.call("store_get", { key: "k" }, "s1")).toEqual({ from: "A" })
    expect(await b.call("store_get", { key: "k", default: "absent" }, "s2")).toBe("absent")
    expect(await b.call("store_get", { key: "k", default: "absent" })).toBe("absent")
    expect(await b.call("store_keys", {}, "s1")).toEqual(["k"])
    expect(await b.call("store_keys", {}, "s2")).toEqual([])

    // A write through B is seen through A, whose workers may hold the old version in their cache.
    const later = await b.call("store_put", { key: "k", value: { from: "B" } }, "s1") as number
    expect(later).toBeGreaterThan(version)
    const seen = await Promise.all([1, 2, 3, 4].map(() => a.call("store_get", { key: "k" }, "s1")))
    expect(seen).toEqual(Array.from({ length: 4 }, () => ({ from: "B" })))

    // The same key in the global scope and in s2 are different keys.
    await b.call("store_put", { key: "k", value: "global" })
    await a.call("store_put", { key: "k", value: "s2" }, "s2")
    expect(await a.call("store_get", { key: "k" })).toBe("global")
    expect(await b.call("store_get", { key: "k" }, "s2")).toBe("s2")
    expect(await b.call("store_get", { key: "k" }, "s1")).toEqual({ from: "B" })
  })

  it("closing both hosts leaves no Python process; deleting the prefix leaves no key", async () => {
    const served = [...a.pids, ...b.pids]
    const closed = await Promise.all([a, b].map(async (host) => {
      const reply = await host.request("close")
      return { host: host.name, reply: reply.ok, code: await host.exited }
    }))
    expect(closed).toEqual([{ host: "A", reply: true, code: 0 }, { host: "B", reply: true, code: 0 }])
    expect(await eventually(() => !served.some(isWorker), 2_000)).toBe(true)
    expect(served.filter(isWorker)).toEqual([])

    expect((await scanAll(`${PREFIX}*`)).length).toBeGreaterThan(0)
    await deleteAll()
    expect(await scanAll(`${PREFIX}*`)).toEqual([])
  })
})

import { once } from "node:events"
import { execa } from "execa"
import { afterEach, describe, expect, it } from "vitest"
import { readRssBytes, readRssBytesPs } from "../../src/actors/rss.ts"

const MIB = 1024 * 1024
/** Larger than the largest possible pid_max (2^22), so no process can ever have it. */
const IMPOSSIBLE_PID = 2 ** 22 + 1

const readers = [
  ["readRssBytes", readRssBytes],
  ["readRssBytesPs", readRssBytesPs]
] as const

/** Children still to kill: how to kill one and a promise of its exit (execa's own types are too deep to store). */
const children: Array<{ readonly kill: () => void; readonly exited: Promise<unknown> }> = []
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill()
    await child.exited
  }
})

/** A Python child holding 200 MiB; resolves once the memory is allocated (it prints after the allocation). */
const bigChild = async () => {
  const child = execa("python3", [
    "-c",
    "x = bytearray(200*1024*1024); print('allocated', flush=True); import time; time.sleep(30)"
  ], { reject: false })
  children.push({ kill: () => child.kill("SIGKILL"), exited: child })
  await once(child.stdout, "data")
  if (child.pid === undefined) throw new Error("python3 did not start")
  return child.pid
}

/** The pid of a process that has exited and been reaped. */
const deadPid = async (): Promise<number> => {
  const child = execa("python3", ["-c", "pass"])
  await child
  if (child.pid === undefined) throw new Error("python3 did not start")
  return child.pid
}

describe.each(readers)("%s", (_name, read) => {
  it("reads the current process, close to process.memoryUsage().rss", async () => {
    const rss = await read(process.pid)
    const reference = process.memoryUsage().rss
    expect(rss).not.toBeNull()
    expect(rss).toBeGreaterThan(reference / 2)
    expect(rss).toBeLessThan(reference * 2)
    expect(rss! % 1024).toBe(0) // kB → bytes
  })

  it("sees a Python child holding 200 MiB above 150 MiB", async () => {
    const pid = await bigChild()
    const rss = await read(pid)
    expect(rss).not.toBeNull()
    expect(rss).toBeGreaterThan(150 * MIB)
  })

  it("returns null for a process that is gone", async () => {
    expect(await read(await deadPid())).toBeNull()
    expect(await read(IMPOSSIBLE_PID)).toBeNull()
  })

  it.each([0, -1, 1.5, Number.NaN])("rejects pid %s with a RangeError", async (pid) => {
    await expect(read(pid)).rejects.toThrow(RangeError)
  })
})

describe("readRssBytes", () => {
  it("agrees with the ps fallback on a child whose memory is stable", async () => {
    const pid = await bigChild()
    const [proc, ps] = await Promise.all([readRssBytes(pid), readRssBytesPs(pid)])
    expect(proc).not.toBeNull()
    expect(ps).not.toBeNull()
    expect(Math.abs(proc! - ps!)).toBeLessThan(16 * MIB)
  })

  it("returns null once the child is killed and reaped", async () => {
    const pid = await bigChild()
    const child = children.pop()!
    child.kill()
    await child.exited
    expect(await readRssBytes(pid)).toBeNull()
  })
})

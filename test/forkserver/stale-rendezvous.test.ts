// Rendezvous folders ($TMPDIR/pyvisor-fs-<host pid>-*) do not accumulate: a host SIGKILLed cannot
// remove its own, so the next rendezvous sweeps those of dead hosts, and only those.
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { sweepStaleRendezvous } from "../../src/actors/forkserver/stale-rendezvous.ts"
import { createPool } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { eventually, FIXTURES, isAlive } from "../helpers.ts"

const HOST = new URL("../fixtures/host.ts", import.meta.url).pathname

let pool: Pool | undefined
afterEach(async () => {
  await pool?.close()
  pool = undefined
})

const foldersOf = (pid: number, dir = tmpdir()): Array<string> =>
  readdirSync(dir).filter((name) => name.startsWith(`pyvisor-fs-${pid}-`)).map((name) => join(dir, name))

/** A pid that was a process's and is no more. */
const deadPid = (): number => {
  const pid = Number(execFileSync("sh", ["-c", "sh -c 'echo $$' </dev/null"], { encoding: "utf8" }).trim())
  expect(isAlive(pid)).toBe(false)
  return pid
}

/** A Unix socket file nobody listens on, as a SIGKILLed host leaves it. */
const deadSocket = (path: string): void => {
  execFileSync("python3", ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path])
}

describe("rendezvous folders of dead hosts", () => {
  it("a host SIGKILLed with a forkserver pool leaves its folder; the next pool's rendezvous removes it", async () => {
    const host = spawn(process.execPath, [HOST, "1", "forkserver"], { stdio: ["ignore", "pipe", "inherit"] })
    try {
      await new Promise<void>((resolve, reject) => {
        host.stdout.once("data", () => resolve())
        host.once("exit", (code, signal) => reject(new Error(`host exited early (${code ?? signal})`)))
      })
      const folders = foldersOf(host.pid!)
      expect(folders).toHaveLength(1)
      expect(existsSync(join(folders[0]!, "s"))).toBe(true)
      const exited = new Promise((resolve) => host.once("exit", resolve))
      host.kill("SIGKILL")
      await exited
      pool = await createPool({ worker: { module: "basic", cwd: FIXTURES, startMethod: "forkserver" }, size: 1 })
      expect(await eventually(() => !existsSync(folders[0]!))).toBe(true)
      // This host's own folder is not swept: its pool still forks.
      expect(foldersOf(process.pid)).not.toHaveLength(0)
      const first = pool.snapshot().workers[0]!.pid!
      process.kill(first, "SIGKILL")
      await expect.poll(() => { const w = pool!.snapshot().workers[0]!; return w.state === "ready" && w.pid !== first }, { timeout: 10_000 }).toBe(true)
    } finally {
      host.kill("SIGKILL")
    }
  })

  it("sweeps only this user's folders of gone pids with no listener: not a live pid's, not a listened socket's, not other names", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyvisor-sweep-"))
    const server = createServer()
    try {
      const dead = deadPid()
      const stale = join(dir, `pyvisor-fs-${dead}-Ab3dE9`)
      mkdirSync(stale)
      deadSocket(join(stale, "s"))
      // A live host's (this process's pid), even without a listener.
      const live = join(dir, `pyvisor-fs-${process.pid}-Zz9yY8`)
      mkdirSync(live)
      deadSocket(join(live, "s"))
      // A gone pid whose socket still answers: a live host in another pid namespace sharing the folder.
      const elsewhere = join(dir, `pyvisor-fs-${dead}-Qq7wW6`)
      mkdirSync(elsewhere)
      await new Promise<void>((resolve) => server.listen(join(elsewhere, "s"), resolve))
      // A gone pid's folder that has no socket yet: a host between mkdtemp and listen.
      const young = join(dir, `pyvisor-fs-${dead}-Ee5rR4`)
      mkdirSync(young)
      // Names that are not a rendezvous folder's.
      const other = join(dir, `pyvisor-fs-once-${dead}`)
      mkdirSync(other)
      expect(await sweepStaleRendezvous(dir)).toEqual([stale])
      expect(readdirSync(dir).sort()).toEqual([elsewhere, live, other, young].map((p) => p.slice(dir.length + 1)).sort())
    } finally {
      server.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

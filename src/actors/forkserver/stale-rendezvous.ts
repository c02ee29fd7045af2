/**
 * Rendezvous folders left behind by dead hosts. A host SIGKILLed (or OOM-killed) cannot remove its
 * own folder, and its zygote dies with it (PR_SET_PDEATHSIG SIGKILL), so each new rendezvous
 * sweeps the folders of hosts that are gone: the folder's name carries its host's pid.
 */
import { createConnection } from "node:net"
import { readdirSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The prefix of every rendezvous folder's name; the host's pid follows it. */
export const RENDEZVOUS_PREFIX = "pyvisor-fs-"
const NAME = /^pyvisor-fs-(\d+)-[A-Za-z0-9]{6}$/
/** A folder without a socket may belong to a host between mkdtemp and listen: left alone this long. */
const UNBOUND_GRACE_MS = 60_000
const CONNECT_TIMEOUT_MS = 1_000

/**
 * The name template of a new rendezvous folder for host `pid` (for `mkdtempSync`).
 *
 * @example
 * ```ts
 * mkdtempSync(rendezvousTemplate(process.pid)) // "/tmp/pyvisor-fs-4242-Ab3dE9"
 * ```
 */
export const rendezvousTemplate = (pid: number, dir: string = tmpdir()): string => join(dir, `${RENDEZVOUS_PREFIX}${pid}-`)

const processGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH" // EPERM: alive, another user's
  }
}

/** Whether nothing listens on `path`: refused, or (after the grace) no socket at all. */
const nobodyListens = (path: string, folderAgeMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection(path)
    const done = (gone: boolean): void => {
      socket.destroy()
      resolve(gone)
    }
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false))
    socket.once("connect", () => done(false))
    socket.once("error", (error: NodeJS.ErrnoException) =>
      done(error.code === "ECONNREFUSED" || (error.code === "ENOENT" && folderAgeMs > UNBOUND_GRACE_MS)))
  })

/**
 * Removes the rendezvous folders in `dir` whose host is gone; returns their paths. A folder counts
 * as gone only if it is this user's, no process has its pid here, and nothing listens on its
 * socket: the last test keeps the folder of a live host in another pid namespace sharing `dir`.
 * Never rejects.
 *
 * @example
 * ```ts
 * const removed = await sweepStaleRendezvous() // ["/tmp/pyvisor-fs-4242-Ab3dE9"]
 * ```
 */
export const sweepStaleRendezvous = async (dir: string = tmpdir()): Promise<Array<string>> => {
  let names: Array<string>
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const uid = process.getuid?.()
  const removed: Array<string> = []
  await Promise.all(names.map(async (name) => {
    const pid = Number(NAME.exec(name)?.[1])
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !processGone(pid)) return
    const folder = join(dir, name)
    try {
      const stat = statSync(folder)
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) return
      if (!await nobodyListens(join(folder, "s"), Date.now() - stat.mtimeMs)) return
      rmSync(folder, { recursive: true, force: true })
      removed.push(folder)
    } catch {
      // Removed meanwhile (by another host's sweep), or not ours to remove.
    }
  }))
  return removed
}

/**
 * Where forked workers connect back to the host: a Unix socket in a private (0700) temporary
 * folder. Each forked worker opens three connections (protocol, stdout, stderr), each starting
 * with one line `"<token> <key> <stream>\n"`: the pool's random token (only processes that were
 * told it, i.e. the zygote's children, can attach) and the key of the fork request.
 */
import { randomBytes, timingSafeEqual } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import type { Server, Socket } from "node:net"
import { join } from "node:path"
import { rendezvousTemplate, sweepStaleRendezvous } from "./stale-rendezvous.ts"

/**
 * The three connections of one forked worker.
 *
 * @example
 * ```ts
 * const stream: StreamName = "stderr"
 * ```
 */
export type StreamName = "protocol" | "stdout" | "stderr"

const STREAMS: ReadonlyArray<string> = ["protocol", "stdout", "stderr"]
/** A peer that sends no complete first line within this long is dropped. */
const AUTH_TIMEOUT_MS = 5_000
const MAX_LINE_BYTES = 256

/**
 * The listening socket and the forks expected on it.
 *
 * @example
 * ```ts
 * const r = await Rendezvous.open()
 * const cancel = r.expect("w1.1", (stream, socket) => attach(stream, socket))
 * // ... ask the zygote to fork with { socket: r.path, token: r.token, key: "w1.1" }
 * r.close()
 * ```
 */
export class Rendezvous {
  readonly path: string
  readonly token: string
  readonly #dir: string
  readonly #server: Server
  readonly #expected = new Map<string, (stream: StreamName, socket: Socket) => void>()

  private constructor(dir: string, server: Server) {
    this.#dir = dir
    this.path = join(dir, "s")
    this.token = randomBytes(24).toString("hex")
    this.#server = server
    server.on("connection", (socket) => this.#greet(socket))
  }

  /**
   * Listens in a new private folder (mkdtemp makes it 0700: no other user can connect), named
   * after this host's pid; meanwhile sweeps the folders of dead hosts (not awaited: a zygote's
   * start does not wait for it).
   */
  static async open(): Promise<Rendezvous> {
    void sweepStaleRendezvous()
    const dir = mkdtempSync(rendezvousTemplate(process.pid))
    const server = createServer()
    const rendezvous = new Rendezvous(dir, server)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(rendezvous.path, () => {
          server.off("error", reject)
          resolve()
        })
      })
    } catch (error) {
      rmSync(dir, { recursive: true, force: true })
      throw error
    }
    return rendezvous
  }

  /** Routes the connections announcing `key` to `attach`; returns a function that stops expecting them. */
  expect(key: string, attach: (stream: StreamName, socket: Socket) => void): () => void {
    this.#expected.set(key, attach)
    return () => void this.#expected.delete(key)
  }

  /** Stops listening and removes the folder. Connections already handed out stay open (their owners end them). */
  close(): void {
    this.#expected.clear()
    this.#server.close()
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #greet(socket: Socket): void {
    socket.on("error", () => {}) // a peer that dies mid-greeting is simply dropped
    socket.setTimeout(AUTH_TIMEOUT_MS, () => socket.destroy())
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf(10)
      if (end === -1) {
        if (head.length > MAX_LINE_BYTES) socket.destroy()
        return
      }
      socket.off("data", onData)
      socket.pause()
      socket.setTimeout(0)
      const rest = head.subarray(end + 1)
      const [token = "", key = "", stream = "", ...extra] = head.subarray(0, end).toString("latin1").split(" ")
      const attach = this.#expected.get(key)
      if (!this.#tokenMatches(token) || extra.length > 0 || !STREAMS.includes(stream) || attach === undefined) return void socket.destroy()
      if (rest.length > 0) socket.unshift(rest)
      attach(stream as StreamName, socket)
    }
    socket.on("data", onData)
  }

  #tokenMatches(token: string): boolean {
    const given = Buffer.from(token, "latin1")
    const expected = Buffer.from(this.token, "latin1")
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

/**
 * One forked worker seen as the `SpawnedProcess` a `Worker` drives: its protocol, stdout and
 * stderr are connections on the rendezvous socket (attached when the child connects), its pid
 * and its exit come from the zygote's control channel, and signals go straight to the pid.
 */
import type { Socket } from "node:net"
import { PassThrough } from "node:stream"
import type { ProcessExit, SpawnedProcess } from "../python-process.ts"
import type { StreamName } from "./rendezvous.ts"

/** After the zygote died, how long a worker (killed by its PDEATHSIG) may take to close its socket. */
const LOST_GRACE_MS = 1_000

/**
 * The host's handle on one fork request, from the request to the exit.
 *
 * @example
 * ```ts
 * const forked = new ForkedProcess()
 * const proc = forked.process // handed to the Worker at once
 * forked.forked(4242)         // the zygote answered the fork request
 * forked.attach("protocol", socket)
 * forked.exit({ code: 0, signal: null }) // the zygote reaped it
 * ```
 */
export class ForkedProcess {
  readonly process: SpawnedProcess
  readonly #toWorker = new PassThrough()
  readonly #proxies: Record<StreamName, PassThrough> = { protocol: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }
  readonly #sockets = new Map<StreamName, Socket>()
  #pid = -1
  #done = false
  #signal: NodeJS.Signals | undefined
  #settleSpawn!: (error: Error | null) => void
  #settleExit!: (exit: ProcessExit) => void

  constructor() {
    const spawnError = new Promise<Error | null>((resolve) => (this.#settleSpawn = resolve))
    const exited = new Promise<ProcessExit>((resolve) => (this.#settleExit = resolve))
    for (const stream of [this.#toWorker, ...Object.values(this.#proxies)]) stream.on("error", () => {})
    const pid = (): number => this.#pid
    this.process = {
      // Known once the zygote answered: a Worker reads it again when `spawnError` resolves to null.
      get pid() {
        return pid()
      },
      toWorker: this.#toWorker,
      fromWorker: this.#proxies.protocol,
      stdout: this.#proxies.stdout,
      stderr: this.#proxies.stderr,
      exited,
      spawnError,
      kill: (signal) => this.#kill(signal)
    }
  }

  /**
   * A process that never starts (no zygote to fork it): its spawn error is `message`.
   *
   * @example
   * ```ts
   * const proc = ForkedProcess.notStarted("the zygote is not running") // spawnError resolves to that error
   * ```
   */
  static notStarted(message: string): SpawnedProcess {
    const forked = new ForkedProcess()
    forked.failed(new Error(message))
    return forked.process
  }

  /** The zygote forked it: the pid is known, and a signal asked for meanwhile is sent now. */
  forked(pid: number): void {
    if (this.#done) return
    this.#pid = pid
    this.#settleSpawn(null)
    if (this.#signal !== undefined) this.#kill(this.#signal)
  }

  /** The fork failed (or the zygote was gone): no process, as when an interpreter cannot be found. */
  failed(error: Error): void {
    if (this.#done) return
    this.#settleSpawn(error)
    this.exit({ code: null, signal: null })
  }

  /**
   * One of its connections arrived. Its bytes flow only once the pid is known and announced (the
   * Worker's own `spawnError` callback ran first): a `hello` read before the machine knew the
   * process was spawned would be dropped. The child may connect before the zygote's answer is read.
   */
  attach(stream: StreamName, socket: Socket): void {
    socket.on("error", () => {})
    if (this.#done || this.#sockets.has(stream)) return void socket.destroy()
    this.#sockets.set(stream, socket)
    void this.process.spawnError.then((error) => {
      if (error !== null) return void socket.destroy()
      const proxy = this.#proxies[stream]
      socket.pipe(proxy)
      // A worker killed with bytes it had not read yet resets its end (ECONNRESET): the pipe does
      // not end the proxy then, and its reader would wait for an end that never comes.
      socket.once("close", () => {
        if (!proxy.writableEnded) proxy.end()
      })
      if (stream === "protocol") this.#toWorker.pipe(socket)
    })
  }

  /** The zygote reaped it. Streams it never connected end now (their readers must not wait). */
  exit(exit: ProcessExit): void {
    if (this.#done) return
    this.#done = true
    for (const [name, proxy] of Object.entries(this.#proxies)) if (!this.#sockets.has(name as StreamName)) proxy.end()
    this.#settleExit(exit)
  }

  /**
   * The zygote died without reaping it: its PDEATHSIG (SIGKILL) ends it, and nobody will report
   * that. The exit is taken as the protocol connection closing, or `LOST_GRACE_MS` at most.
   */
  lost(): Promise<void> {
    if (this.#done) return Promise.resolve()
    if (this.#pid === -1) {
      this.failed(new Error("the zygote exited before it forked this worker"))
      return Promise.resolve()
    }
    const socket = this.#sockets.get("protocol")
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer)
        this.exit({ code: null, signal: "SIGKILL" })
        resolve()
      }
      const timer = setTimeout(finish, LOST_GRACE_MS)
      if (socket === undefined || socket.destroyed) return finish()
      socket.once("close", finish)
    })
  }

  #kill(signal: NodeJS.Signals): boolean {
    if (this.#done) return false
    if (this.#pid === -1) {
      this.#signal = signal
      return true
    }
    try {
      process.kill(this.#pid, signal)
      return true
    } catch {
      return false
    }
  }
}

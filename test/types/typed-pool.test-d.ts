/**
 * Type-level checks of `createPool<Handlers>`, verified by `tsc -p tsconfig.json --noEmit` (no
 * runtime assertions): each `@ts-expect-error` must be an error, everything else must compile.
 * `Handlers` is the golden `.d.ts` generated from test/fixtures/typed/typed_modern.py.
 */
import type { Handlers, Job, Point } from "../fixtures/typed/typed_modern.js"
import { createPool } from "../../src/index.ts"
import type { Pool, TypedPool, TypedSession } from "../../src/index.ts"
import type { CallError, PythonPoolService } from "../../src/effect/index.ts"
import { typedService } from "../../src/effect/index.ts"
import type * as Effect from "effect/Effect"

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

/** `exactly<E>()(value)` compiles only when value's type is exactly E (and uses the value, for lint). */
const exactly = <E>() => <A>(_value: A, ..._proof: Equals<A, E> extends true ? [] : [never]): void => undefined

export async function typedCalls(pool: TypedPool<Handlers>): Promise<void> {
  // Correct use compiles, and results have the handler's type.
  const sum = await pool.call("add", { a: 1, b: 2 })
  exactly<number>()(sum)
  await pool.call("add", { a: 1 })
  await pool.call("add", [1, 2])
  await pool.call("add", [1])
  await pool.call("add", { a: 1 }, { timeoutMs: 1_000 })
  const pair = await pool.call("pair", ["x", 1])
  exactly<[string, number]>()(pair)
  await pool.call("greet", { name: "ada", shout: true })
  await pool.call("greet", ["ada"])
  await pool.call("maybe_points")
  await pool.call("maybe_points", { points: null })
  const point: Point = await pool.call("paint", { color: "red", where: { x: 1, y: 2 } })
  const job: Job = { name: "j", depth: 2 }
  await pool.call("submit", { job })
  await pool.call("spread", [1, "a", "b"])
  await pool.call("spread", { first: 1, extra: 2.5 })
  const found = await pool.call("lookup", { table: { a: 1 }, key: "a" })
  exactly<number | string | null>()(found)
  const counted = await pool.call("count", { n: 3 })
  exactly<number[]>()(counted)
  const fetched = await pool.call("fetch", { url: "u" })
  exactly<string>()(fetched)
  for await (const tick of pool.stream("ticks", { n: 3 }, { window: 4 })) exactly<string>()(tick)
  for await (const n of pool.stream("count", [3])) exactly<number>()(n)
  const when = await pool.call("when", { at: new Date() })
  exactly<Date>()(when)
  void point

  // A wrong handler name.
  // @ts-expect-error no handler 'ad'
  await pool.call("ad", { a: 1, b: 2 })
  // @ts-expect-error no handler 'cnt' to stream
  pool.stream("cnt", { n: 3 })

  // Missing arguments.
  // @ts-expect-error 'a' is required
  await pool.call("add", { b: 2 })
  // @ts-expect-error add needs arguments
  await pool.call("add")
  // @ts-expect-error the positional form needs 'a' too
  await pool.call("add", [])

  // Mistyped arguments.
  // @ts-expect-error 'b' is a number
  await pool.call("add", { a: 1, b: "2" })
  // @ts-expect-error positional 'right' is a number
  await pool.call("pair", ["x", "y"])
  // @ts-expect-error 'm' is "fast" or "slow"
  await pool.call("mode", { m: "medium" })
  // @ts-expect-error a Point needs y
  await pool.call("paint", { color: "red", where: { x: 1 } })
  // @ts-expect-error Color is "red" | "green"
  await pool.call("paint", { color: "blue", where: { x: 1, y: 2 } })
  // @ts-expect-error an unknown keyword
  await pool.call("add", { a: 1, c: 3 })
  // @ts-expect-error pair's parameters are positional-only: no object form
  await pool.call("pair", { left: "x", right: 1 })
  // @ts-expect-error *rest takes strings
  await pool.call("spread", [1, 2])
  // @ts-expect-error shout is keyword-only: not in the positional form
  await pool.call("greet", ["ada", true])

  // Misused results.
  // @ts-expect-error add returns a number
  const text: string = await pool.call("add", { a: 1 })
  // @ts-expect-error lookup may return null
  const n: number = await pool.call("lookup", { table: {}, key: "a" })
  for await (const tick of pool.stream("ticks", { n: 1 })) {
    // @ts-expect-error ticks yields strings
    const t: number = tick
    void t
  }
  void text
  void n
}

export async function typedSessions(pool: TypedPool<Handlers>): Promise<void> {
  const s: TypedSession<Handlers> = pool.session("user-42", { affinity: "strict" })
  const sum = await s.call("add", { a: 1, b: 2 }, { timeoutMs: 10 })
  exactly<number>()(sum)
  // @ts-expect-error no handler 'ad'
  await s.call("ad", { a: 1 })
  // @ts-expect-error 'b' is a number
  await s.call("add", { a: 1, b: "2" })
  // @ts-expect-error a session sets its own session
  await s.call("add", { a: 1 }, { session: "other" })
  for await (const n of s.stream("count", { n: 2 })) exactly<number>()(n)
  await s.close()
}

export async function construction(): Promise<void> {
  // Typed with the generated interface…
  const typed = await createPool<Handlers>({ worker: { module: "typed_modern" } })
  exactly<TypedPool<Handlers>>()(typed)
  // …and untyped exactly as before.
  const untyped = await createPool({ worker: { module: "basic" } })
  exactly<Pool>()(untyped)
  const anything = await untyped.call("whatever", { x: 1 })
  exactly<unknown>()(anything)
  await untyped.call("whatever", [1, 2])
  // @ts-expect-error not a handler map
  await createPool<{ add: number }>({ worker: { module: "m" } })
  await typed.close()
}

export function effectService(service: PythonPoolService): void {
  const py = typedService<Handlers>(service)
  const sum = py.call("add", { a: 1, b: 2 })
  exactly<Effect.Effect<number, CallError>>()(sum)
  // @ts-expect-error no handler 'ad'
  py.call("ad", { a: 1 })
  // @ts-expect-error 'b' is a number
  py.call("add", { a: 1, b: "x" })
  py.stream("ticks", { n: 3 })
}

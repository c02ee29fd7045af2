// `validate: true`: workers check call arguments against the handler's Python signature, on both
// interpreters, and reject with InvalidArgumentsError naming the parameter and the expected type.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Stream from "effect/Stream"
import * as Effect from "effect/Effect"
import { createPool, InvalidArgumentsError, InvalidOptionError, PythonError } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { fromEngine, isCallError, typedService } from "../../src/effect/index.ts"
import { workerArgs } from "../../src/actors/python-process.ts"
import { resolveOptions } from "../../src/pool/options.ts"
import type { Handlers } from "../fixtures/typed/typed_modern.js"
import { FIXTURES, INTERPRETERS } from "../helpers.ts"

const TYPED = `${FIXTURES}typed`

/** The rejection of `promise`, which must reject. */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

describe.each(INTERPRETERS)("validate: true on $python ($codec)", ({ python }) => {
  let pool: Pool
  beforeAll(async () => {
    pool = await createPool({ worker: { module: "typed_modern", cwd: TYPED, python }, size: 1, validate: true })
  })
  afterAll(() => pool.close())

  const invalid = async (name: string, args: unknown, parameter: string, expected: string, message: string): Promise<void> => {
    const error = await rejection(pool.call(name, args as never))
    expect(error).toBeInstanceOf(InvalidArgumentsError)
    expect(error).toMatchObject({ handler: name, parameter, expected, code: "INVALID_ARGUMENTS", _tag: "InvalidArgumentsError" })
    expect((error as Error).message).toBe(message)
  }

  it("runs calls whose arguments fit, in both forms, ctx, async and generator handlers included", async () => {
    expect(await pool.call("add", { a: 1, b: 2 })).toBe(3)
    expect(await pool.call("add", [40])).toBe(42)
    expect(await pool.call("scale", { factor: 2, values: [1, 2.5] })).toEqual([2, 5])
    expect(await pool.call("greet", { name: "ada", shout: true })).toBe("ADA")
    expect(await pool.call("pair", ["x", 1])).toEqual(["x", 1])
    expect(await pool.call("fetch", { url: "u" })).toBe("u")
    expect(await pool.call("paint", { color: "red", where: { x: 1, y: 2.5, tags: ["a"] } })).toEqual({ x: 1, y: 2.5, tags: ["a"] })
    expect(await pool.call("submit", { job: { name: "j", depth: 1 } })).toEqual({ name: "j", depth: 1 })
    expect(await pool.call("spread", [1, "a", "b"])).toBe(3)
    expect(await pool.call("spread", { first: 1, x: 0.5 })).toBe(2)
    expect(await pool.call("when", { at: new Date(0) })).toEqual(new Date(0))
    expect(await pool.call("blob", { data: Buffer.from([1, 2]) })).toEqual(Buffer.from([2, 1]))
    expect(await pool.call("mode", { m: "fast", level: 2 })).toBe(1)
    expect(await pool.call("maybe_points", { points: null })).toEqual([])
    expect(await pool.call("anything", { x: 1, y: [2], z: { any: "thing" } })).toBeNull()
    const items: Array<unknown> = []
    for await (const item of pool.stream("ticks", { n: 3 })) items.push(item)
    expect(items).toEqual(["0", "1", "2"])
  })

  it("rejects a mistyped argument, naming the parameter and the expected type", async () => {
    await invalid("add", { a: 1, b: "2" }, "b", "int", "invalid arguments for 'add': parameter 'b' expects int, got str '2'")
    await invalid("add", [1.5], "a", "int", "invalid arguments for 'add': parameter 'a' expects int, got float 1.5")
    await invalid("scale", { factor: 2, values: [1, "x"] }, "values", "list[float]",
      "invalid arguments for 'scale': parameter 'values' expects list[float], got list [1, 'x']: item 1 should be float, got str 'x'")
    await invalid("mode", { m: "medium" }, "m", "Literal['fast', 'slow']", "invalid arguments for 'mode': parameter 'm' expects Literal['fast', 'slow'], got str 'medium'")
    await invalid("greet", { name: "ada", shout: 1 }, "shout", "bool", "invalid arguments for 'greet': parameter 'shout' expects bool, got int 1")
    await invalid("lookup", { table: { a: "1" }, key: "a" }, "table", "dict[str, int]",
      "invalid arguments for 'lookup': parameter 'table' expects dict[str, int], got dict {'a': '1'}: key 'a' should be int, got str '1'")
    await invalid("spread", [1, 2], "*rest", "str", "invalid arguments for 'spread': parameter '*rest' expects str, got int 2")
  })

  it("checks dataclass, TypedDict and Enum arguments as the dicts and values they arrive as", async () => {
    await invalid("paint", { color: "red", where: { x: 1 } }, "where", "Point",
      "invalid arguments for 'paint': parameter 'where' expects Point, got dict {'x': 1}: key 'y' is missing")
    await invalid("paint", { color: "blue", where: { x: 1, y: 2 } }, "color", "Color", "invalid arguments for 'paint': parameter 'color' expects Color, got str 'blue'")
    await invalid("submit", { job: { name: "j", depth: "deep" } }, "job", "Job",
      "invalid arguments for 'submit': parameter 'job' expects Job, got dict {'name': 'j', 'depth': 'deep'}: key 'depth' should be int, got str 'deep'")
  })

  it("rejects a missing, an unknown and a surplus argument", async () => {
    await invalid("add", { b: 2 }, "a", "int", "invalid arguments for 'add': parameter 'a' (int) is missing")
    await invalid("add", { a: 1, c: 3 }, "c", "nothing", "invalid arguments for 'add': has no parameter 'c' (parameters: a, b)")
    await invalid("add", [1, 2, 3], "*[2]", "nothing", "invalid arguments for 'add': takes 2 positional arguments but 3 were given")
    await invalid("pair", { left: "x", right: 1 }, "left", "nothing", "invalid arguments for 'pair': has no parameter 'left' (parameters: (none))")
  })

  it("checks a stream's arguments before the generator starts", async () => {
    const error = await rejection((async () => {
      for await (const _ of pool.stream("count", { n: "3" })) throw new Error("no item expected")
    })())
    expect(error).toMatchObject({ _tag: "InvalidArgumentsError", handler: "count", parameter: "n", expected: "int" })
  })

  it("is one of the Effect API's typed call errors", async () => {
    const py = typedService<Handlers>(fromEngine(pool))
    const error = await Effect.runPromise(Effect.flip(py.call("add", { a: 1, b: "2" } as never)))
    expect(isCallError(error)).toBe(true)
    expect(error).toBeInstanceOf(InvalidArgumentsError)
    expect(await Effect.runPromise(Stream.runCollect(py.stream("count", { n: 2 })))).toEqual([0, 1])
  })
})

describe("validate: true and numpy arrays (python3 has numpy)", () => {
  let pool: Pool
  beforeAll(async () => {
    pool = await createPool({ worker: { module: "typed_numpy", cwd: TYPED, python: "python3" }, size: 1, validate: true })
  })
  afterAll(() => pool.close())

  it("checks the dtype an NDArray annotation names", async () => {
    expect(await pool.call("norm", { v: new Float64Array([3, 4]) })).toBe(5)
    const error = await rejection(pool.call("norm", { v: new Int32Array([3, 4]) }))
    expect(error).toMatchObject({ _tag: "InvalidArgumentsError", parameter: "v", expected: "ndarray[float64]" })
    expect((error as Error).message).toContain("parameter 'v' expects ndarray[float64], got ndarray array([3, 4], dtype=int32): dtype int32")
    expect(await pool.call("ramp", { n: 2 })).toEqual(new Float32Array([0, 1]))
  })
})

describe("validate off (the default)", () => {
  let pool: Pool
  beforeAll(async () => {
    pool = await createPool({ worker: { module: "typed_modern", cwd: TYPED }, size: 1 })
  })
  afterAll(() => pool.close())

  it("runs the handler with whatever it is given: Python's own error, no check", async () => {
    const error = await rejection(pool.call("add", { a: 1, b: "2" }))
    expect(error).toBeInstanceOf(PythonError)
    expect(error).toMatchObject({ type: "TypeError" })
    // Python multiplies the str: the mistyped list goes through unnoticed.
    expect(await pool.call("scale", { factor: 2, values: [1, "x"] })).toEqual([2, "xx"])
  })

  it("passes --validate to workers only when asked", () => {
    const spec = (validate?: boolean) => resolveOptions({ worker: { module: "m" }, ...(validate === undefined ? {} : { validate }) }).spec
    expect(workerArgs(spec())).not.toContain("--validate")
    expect(workerArgs(spec(false))).not.toContain("--validate")
    expect(workerArgs(spec(true))).toContain("--validate")
    expect(() => resolveOptions({ worker: { module: "m" }, validate: "yes" as never })).toThrow(InvalidOptionError)
    expect(() => resolveOptions({ worker: { module: "m" }, validate: "yes" as never })).toThrow("validate must be a boolean, got 'yes'")
  })
})

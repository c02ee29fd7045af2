// N-D arrays through a real pool (docs/protocol.md section 2.1): numpy arrays of any shape and
// memory order arrive as NdArray, and an NdArray arrives in Python as a numpy array of its shape;
// without numpy, as pyvisor_worker.NdArray.
import { afterEach, describe, expect, it } from "vitest"
import { createPool, NdArray } from "../../src/index.ts"
import type { Pool } from "../../src/index.ts"
import { FIXTURES, START_METHODS } from "../helpers.ts"

describe.each(START_METHODS)("startMethod %s", (startMethod) => {
  let pool: Pool | undefined
  afterEach(async () => {
    await pool?.close()
    pool = undefined
  })
  const start = async (module: string, python: string): Promise<Pool> =>
    (pool = await createPool({ worker: { startMethod, module, cwd: FIXTURES, python }, size: 1 }))

  const plain = (value: unknown): { dtype: string; shape: ReadonlyArray<number>; data: Array<unknown> } => {
    expect(value).toBeInstanceOf(NdArray)
    const { dtype, shape, data } = value as NdArray
    return { dtype, shape, data: Array.from(data as ArrayLike<unknown>) }
  }

  // python3 has numpy (and no msgpack: the JSON codec).
  describe("numpy arrays on python3 (json)", () => {
    it("arrive on the host as NdArray, whatever their memory order", async () => {
      const p = await start("ndarrays", "python3")
      const matrix = await p.call("matrix")
      expect(matrix).toBeInstanceOf(NdArray)
      expect((matrix as NdArray).data).toBeInstanceOf(Float32Array)
      expect(plain(matrix)).toEqual({ dtype: "float32", shape: [2, 3], data: [0, 1, 2, 3, 4, 5] })
      expect(plain(await p.call("fortran"))).toEqual({ dtype: "int32", shape: [2, 3], data: [0, 1, 2, 3, 4, 5] })
      expect(plain(await p.call("strided"))).toEqual({ dtype: "float64", shape: [2, 2], data: [0, 3, 12, 15] })
      expect(plain(await p.call("big_endian"))).toEqual({ dtype: "uint16", shape: [2, 2], data: [0, 1, 2, 3] })
      expect(plain(await p.call("scalar"))).toEqual({ dtype: "float64", shape: [], data: [2.5] })
    })

    it("go to Python as numpy arrays of their shape and dtype, and come back", async () => {
      const p = await start("ndarrays", "python3")
      const m = new NdArray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3])
      expect(await p.call("describe", { value: m }))
        .toEqual({ type: "numpy.ndarray", dtype: "float32", shape: [2, 3], values: [[0, 1, 2], [3, 4, 5]], writeable: true })
      expect(await p.call("describe", { value: new NdArray(new BigInt64Array([-(2n ** 63n), 1n, 2n, 3n, 4n, 5n, 6n, 7n]), [2, 2, 2]) })).toEqual({
        type: "numpy.ndarray", dtype: "int64", shape: [2, 2, 2], values: [[[-(2n ** 63n), 1], [2, 3]], [[4, 5], [6, 7]]], writeable: true
      })
      expect(await p.call("describe", { value: new NdArray(new Uint8Array(0), [0, 4]) }))
        .toEqual({ type: "numpy.ndarray", dtype: "uint8", shape: [0, 4], values: [], writeable: true })
      expect(plain(await p.call("echo", { value: m }))).toEqual(plain(m))
      expect(plain(await p.call("transpose", { value: m }))).toEqual({ dtype: "float32", shape: [3, 2], data: [0, 3, 1, 4, 2, 5] })
      expect(plain(await p.call("scale", { value: new NdArray(new Int16Array([1, 2, 3, 4]), [2, 2]), by: 3 })))
        .toEqual({ dtype: "int16", shape: [2, 2], data: [3, 6, 9, 12] })
      // 1-D arrays stay typed arrays both ways.
      expect(await p.call("describe", { value: new Float64Array([1.5, 2.5]) }))
        .toEqual({ type: "numpy.ndarray", dtype: "float64", shape: [2], values: [1.5, 2.5], writeable: true })
      expect(await p.call("echo", { value: new NdArray(new Int32Array([7, 8]), [2]) })).toEqual(new Int32Array([7, 8]))
    })
  })

  // /usr/bin/python3 speaks msgpack; the fixture hides numpy from its worker, so arrays arrive as
  // pyvisor_worker.NdArray there (numpy is on that interpreter on some machines, not on others).
  describe("arrays without numpy on /usr/bin/python3 (msgpack)", () => {
    it("arrive as pyvisor_worker.NdArray and come back as they went", async () => {
      const p = await start("ndarrays_plain", "/usr/bin/python3")
      const m = new NdArray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3])
      expect(await p.call("describe", { value: m }))
        .toEqual({ type: "pyvisor_worker.values.NdArray", dtype: "float32", shape: [2, 3], values: [[0, 1, 2], [3, 4, 5]] })
      expect(await p.call("describe", { value: new NdArray(new Float64Array([2.5]), []) }))
        .toEqual({ type: "pyvisor_worker.values.NdArray", dtype: "float64", shape: [], values: 2.5 })
      expect(plain(await p.call("echo", { value: m }))).toEqual(plain(m))
      expect(plain(await p.call("echo", { value: new NdArray(new BigUint64Array([2n ** 64n - 1n, 1n]), [1, 2]) })))
        .toEqual({ dtype: "uint64", shape: [1, 2], data: [2n ** 64n - 1n, 1n] })
      expect(plain(await p.call("transpose", { value: m }))).toEqual({ dtype: "float32", shape: [3, 2], data: [0, 3, 1, 4, 2, 5] })
      expect(plain(await p.call("matrix"))).toEqual({ dtype: "int16", shape: [2, 3], data: [0, 1, 2, 3, 4, 5] })
    })
  })
})

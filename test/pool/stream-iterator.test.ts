import { describe, expect, it } from "vitest"
import type { StreamHooks } from "../../src/pool/job.ts"
import { openStream } from "../../src/pool/stream.ts"

// The iterator alone: `submit` hands the test the hooks a worker's answers would drive.
const rig = (window: number) => {
  const grants: Array<number> = []
  let hooks: StreamHooks | undefined
  let end: (() => void) | undefined
  const it = openStream(window, (h, _signal, resolve) => {
    hooks = h
    h.onDispatch((n) => grants.push(n))
    end = () => resolve(undefined)
  })
  const first = it.next() // submits
  return {
    it,
    first,
    grants,
    push: (...values: Array<unknown>) => values.forEach((v) => hooks!.onChunk(v)),
    end: () => end!()
  }
}

const take = async (it: AsyncIterator<unknown>, n: number): Promise<Array<unknown>> => {
  const out: Array<unknown> = []
  for (let i = 0; i < n; i++) out.push((await it.next()).value)
  return out
}

describe("the stream iterator", () => {
  it("gives a burst of items in order and grants credit once per half window", async () => {
    const t = rig(8)
    t.push(0, 1, 2, 3, 4, 5, 6, 7)
    expect(await t.first).toEqual({ value: 0, done: false })
    expect(await take(t.it, 7)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(t.grants).toEqual([4, 4])
    t.end()
    expect(await t.it.next()).toEqual({ value: undefined, done: true })
  })

  it("keeps order when the buffer never empties (a consumer just behind its producer)", async () => {
    const t = rig(4096)
    let sent = 0
    const burst = (n: number): void => {
      for (let i = 0; i < n; i++) t.push(sent++)
    }
    burst(3000)
    const got = [(await t.first).value, ...(await take(t.it, 1499))]
    for (let round = 0; round < 5; round++) {
      burst(1000)
      got.push(...(await take(t.it, 1000)))
    }
    burst(10)
    got.push(...(await take(t.it, sent - got.length)))
    expect(got).toEqual([...Array(sent).keys()])
  })

  it("drops what is buffered or still arriving once the consumer leaves", async () => {
    const t = rig(8)
    t.push("a", "b", "c")
    expect((await t.first).value).toBe("a")
    expect(await t.it.return!()).toEqual({ value: undefined, done: true })
    t.push("d")
    expect(await t.it.next()).toEqual({ value: undefined, done: true })
  })
})

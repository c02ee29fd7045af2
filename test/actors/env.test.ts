import { describe, expect, it } from "vitest"
import { buildEnv } from "../../src/actors/env.ts"
import { LineSplitter, Tail } from "../../src/actors/output.ts"
import { workerArgs } from "../../src/actors/python-process.ts"

describe("buildEnv", () => {
  const host = { PATH: "/bin", HOME: "/root", LC_ALL: "C", AWS_SECRET_ACCESS_KEY: "s3cr3t", PYTHONPATH: "/user", PYENV_VERSION: "3.11" }

  it("passes the allowlist, not the host's secrets", () => {
    const env = buildEnv(host, "allowlist", {}, "/rt")
    expect(env).toMatchObject({ PATH: "/bin", HOME: "/root", LC_ALL: "C", PYENV_VERSION: "3.11" })
    expect(env["AWS_SECRET_ACCESS_KEY"]).toBeUndefined()
  })

  it("puts the runtime first on PYTHONPATH, keeps the user's, and sets the runtime variables", () => {
    const env = buildEnv(host, "allowlist", { MODEL: "small" }, "/rt")
    expect(env["PYTHONPATH"]).toBe("/rt:/user")
    expect(env).toMatchObject({ MODEL: "small", PYTHONUNBUFFERED: "1", PYVISOR_PARENT_PID: String(process.pid) })
  })

  it("honours all, none and an explicit list; overrides win", () => {
    expect(buildEnv(host, "all", {}, "/rt")["AWS_SECRET_ACCESS_KEY"]).toBe("s3cr3t")
    expect(Object.keys(buildEnv(host, "none", {}, "/rt")).sort()).toEqual(["PYTHONPATH", "PYTHONUNBUFFERED", "PYVISOR_PARENT_PID"])
    expect(buildEnv(host, ["HOME"], { HOME: "/elsewhere" }, "/rt")).toMatchObject({ HOME: "/elsewhere" })
  })
})

describe("worker output", () => {
  it("keeps the last bytes of stderr", () => {
    const tail = new Tail(4)
    tail.push(Buffer.from("ab"))
    tail.push(Buffer.from("cdef"))
    expect(tail.toString()).toBe("cdef")
  })

  it("splits lines across chunks, strips CR, and cuts runaway lines", () => {
    const lines: Array<string> = []
    const split = new LineSplitter((l) => lines.push(l), 5)
    split.push(Buffer.from("ab"))
    split.push(Buffer.from("c\r\nde\nxxxxxxxxxxxx"))
    split.end()
    expect(lines).toEqual(["abc", "de", "xxxxx", "xxxxx", "xx"])
  })

  it("builds the interpreter arguments without a shell", () => {
    expect(workerArgs({ module: ["a", "b.py"], preload: ["numpy"], pythonArgs: ["-X", "dev"], maxFrameBytes: 2048 }))
      .toEqual(["-X", "dev", "-m", "pyvisor_worker", "--import", "a", "--import", "b.py", "--preload", "numpy", "--max-frame-bytes", "2048"])
  })
})

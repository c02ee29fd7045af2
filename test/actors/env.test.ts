import { describe, expect, it } from "vitest"
import { buildEnv, DEFAULT_ENV_ALLOW } from "../../src/actors/env.ts"
import { LineSplitter, Tail } from "../../src/actors/output.ts"
import { workerArgs } from "../../src/actors/python-process.ts"

describe("buildEnv", () => {
  const host = { PATH: "/bin", HOME: "/root", LC_ALL: "C", AWS_SECRET_ACCESS_KEY: "s3cr3t", PYTHONPATH: "/user", PYENV_VERSION: "3.11" }

  it("passes the allowlist, not the host's secrets", () => {
    const env = buildEnv(host, "allowlist", {}, "/rt")
    expect(env).toMatchObject({ PATH: "/bin", HOME: "/root", LC_ALL: "C", PYENV_VERSION: "3.11" })
    expect(env["AWS_SECRET_ACCESS_KEY"]).toBeUndefined()
  })

  it("lists exact names: secrets that merely start like an allowed variable stay out", () => {
    const wide = {
      PYTHON_API_KEY: "k", PYTHONSECRET: "s", CUDA_SECRET: "c", CONDA_TOKEN: "t", PYENV_GITHUB_TOKEN: "g", LC_SECRET: "l",
      OMP_PASSWORD: "o", NVIDIA_API_KEY: "n",
      PYTHONIOENCODING: "utf-8", PYTHONHASHSEED: "0", CUDA_VISIBLE_DEVICES: "1", OMP_NUM_THREADS: "2", CONDA_PREFIX: "/c",
      PYENV_ROOT: "/p", LC_CTYPE: "C.UTF-8"
    }
    const env = buildEnv(wide, "allowlist", {}, "/rt")
    for (const secret of ["PYTHON_API_KEY", "PYTHONSECRET", "CUDA_SECRET", "CONDA_TOKEN", "PYENV_GITHUB_TOKEN", "LC_SECRET", "OMP_PASSWORD", "NVIDIA_API_KEY"]) {
      expect(env[secret], secret).toBeUndefined()
    }
    expect(env).toMatchObject({ PYTHONIOENCODING: "utf-8", PYTHONHASHSEED: "0", CUDA_VISIBLE_DEVICES: "1", OMP_NUM_THREADS: "2", CONDA_PREFIX: "/c", PYENV_ROOT: "/p", LC_CTYPE: "C.UTF-8" })
    expect(DEFAULT_ENV_ALLOW.every((name) => /^[A-Z][A-Z0-9_]*$/.test(name))).toBe(true)
  })

  it("keeps the user's cwd off sys.path during the runtime's imports, unless PYTHONSAFEPATH is the user's", () => {
    expect(buildEnv(host, "allowlist", {}, "/rt")).toMatchObject({ PYTHONSAFEPATH: "1", PYVISOR_SAFEPATH: "1" })
    const own = buildEnv(host, "allowlist", { PYTHONSAFEPATH: "1" }, "/rt")
    expect(own["PYVISOR_SAFEPATH"]).toBeUndefined()
  })

  it("puts the runtime first on PYTHONPATH, keeps the user's, and sets the runtime variables", () => {
    const env = buildEnv(host, "allowlist", { MODEL: "small" }, "/rt")
    expect(env["PYTHONPATH"]).toBe("/rt:/user")
    expect(env).toMatchObject({ MODEL: "small", PYTHONUNBUFFERED: "1", PYVISOR_PARENT_PID: String(process.pid) })
  })

  it("honours all, none and an explicit list; overrides win", () => {
    expect(buildEnv(host, "all", {}, "/rt")["AWS_SECRET_ACCESS_KEY"]).toBe("s3cr3t")
    expect(Object.keys(buildEnv(host, "none", {}, "/rt")).sort()).toEqual(["PYTHONPATH", "PYTHONSAFEPATH", "PYTHONUNBUFFERED", "PYVISOR_PARENT_PID", "PYVISOR_SAFEPATH"])
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

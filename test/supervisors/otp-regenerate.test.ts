// The committed OTP transcripts are still what Erlang/OTP does: rerun the escript into a temp
// dir and compare. Runs only where Erlang is installed (CI has it); the replay test
// (otp-conformance.test.ts) uses the committed transcripts everywhere.
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ESCRIPT, readTranscripts } from "./otp-replay.ts"

const hasErlang = spawnSync("sh", ["-c", "command -v erl && command -v escript"], { stdio: "ignore" }).status === 0

describe.runIf(hasErlang)("OTP transcripts", () => {
  const out = mkdtempSync(join(tmpdir(), "pyvisor-otp-"))
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("regenerated from OTP's supervisor, equal the committed ones", () => {
    const run = spawnSync("escript", [ESCRIPT, out], { encoding: "utf8", timeout: 60_000 })
    expect(run.stderr).toBe("")
    expect(run.status).toBe(0)
    // The OTP release may differ between machines; the behaviour must not.
    const strip = (all: ReturnType<typeof readTranscripts>) => all.map(([file, { otp_release: _, ...rest }]) => [file, rest])
    const committed = strip(readTranscripts())
    expect(committed.length).toBeGreaterThan(0)
    expect(strip(readTranscripts(out))).toEqual(committed)
  })
})

// Conformance with Erlang/OTP's supervisor: every transcript in test/fixtures/otp (recorded from
// OTP itself by supervisor_transcripts.escript) is replayed on our Supervisor, with backoff off
// and TestClock standing in for OTP's clock, and must produce the very same events.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readTranscripts, replay } from "./otp-replay.ts"

const transcripts = readTranscripts()

describe("OTP conformance", () => {
  it("has the documented scenarios", () => {
    const names = transcripts.map(([, t]) => t.name)
    for (const required of ["one_for_one_middle_crash", "one_for_all_middle_crash", "rest_for_one_middle_crash", "rest_for_one_first_crash", "rest_for_one_last_crash", "intensity_exceeded", "intensity_not_exceeded_when_spread", "boot_start_failure"]) {
      assert.include(names, required)
    }
    assert.isAtLeast(transcripts.length, 25)
  })

  for (const [file, t] of transcripts) {
    it.effect(`${t.name}: ${t.doc}`, () =>
      Effect.gen(function*() {
        const { events, gaveUp } = yield* replay(t)
        assert.deepStrictEqual(events, t.events, file)
        // OTP logs `shutdown` both when it gives up and when it is shut down: tell them apart here.
        const shutDown = t.steps.some((s) => s.op === "shutdown") || t.events.some((e) => e.startsWith("supervisor start failed"))
        assert.strictEqual(gaveUp, !shutDown, "gave up on intensity")
      }))
  }
})

import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Generous: a real interpreter must start, and these machines are shared (load 5–12 seen); no test asserts on time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Real Python processes: two cores, so keep file-level parallelism modest.
    maxWorkers: 2
  }
})

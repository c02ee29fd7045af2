// Test-side Redis key bookkeeping: every Redis test runs under its own prefix and must leave nothing.
import type { Redis } from "ioredis"

/** Every key matching `pattern`, by SCAN (never KEYS on a shared server). */
export const scanKeys = async (client: Redis, pattern: string): Promise<Array<string>> => {
  const found: Array<string> = []
  let cursor = "0"
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
    found.push(...keys)
    cursor = next
  } while (cursor !== "0")
  return found
}

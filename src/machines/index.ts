/**
 * Pure XState machines (no IO, no timers, no invokes) and the diagram generators that document them.
 * @module
 */
export * from "./worker.ts"
export * from "./pool.ts"
export * from "./diagram.ts"

#!/usr/bin/env node
/**
 * The `pyvisor` command.
 * @module
 */
// First: on an old Node, say so before any dependency fails to load.
import "../node-version.ts"
import { runDemo } from "./demo.ts"

const USAGE = "usage: pyvisor demo [--workers N] [--calls N] [--python PATH]"

/** Integer flags: name, default, bounds. */
const INTEGERS = { workers: [4, 1, 64], calls: [400, 1, 100_000] } as const
const STRINGS = { python: "python3" } as const

type Parsed = { readonly workers: number; readonly calls: number; readonly python: string }

/** Parses `--name value` / `--name=value` flags; returns an error message naming the flag and the bad value. */
const parse = (args: ReadonlyArray<string>): Parsed | string => {
  const given = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (!arg.startsWith("--")) return `unexpected argument ${JSON.stringify(arg)}`
    const eq = arg.indexOf("=")
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2)
    if (!(name in INTEGERS) && !(name in STRINGS)) return `unknown flag --${name}`
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i]
    if (value === undefined || (eq < 0 && value.startsWith("--"))) return `--${name} needs a value`
    given.set(name, value)
  }
  const integer = (name: keyof typeof INTEGERS): number | string => {
    const [fallback, min, max] = INTEGERS[name]
    const raw = given.get(name)
    if (raw === undefined) return fallback
    const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`
  }
  const workers = integer("workers")
  if (typeof workers === "string") return workers
  const calls = integer("calls")
  if (typeof calls === "string") return calls
  const python = given.get("python") ?? STRINGS.python
  if (python.length === 0) return `--python must be a path or command name, got ""`
  return { workers, calls, python }
}

const [command = "demo", ...rest] = process.argv.slice(2)

if (command === "demo") {
  const parsed = parse(rest)
  if (typeof parsed === "string") {
    console.error(`pyvisor demo: ${parsed}\n${USAGE}`)
    process.exitCode = 2
  } else {
    try {
      process.exitCode = await runDemo(parsed)
    } catch (error) {
      console.error(`pyvisor demo failed: ${error instanceof Error ? error.message : String(error)}`)
      process.exitCode = 1
    }
  }
} else if (command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE)
} else {
  console.error(`unknown command '${command}'; ${USAGE}`)
  process.exitCode = 2
}

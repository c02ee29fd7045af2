#!/usr/bin/env node
/**
 * The `pyvisor` command.
 * @module
 */
import { runDemo } from "./demo.ts"

const [command = "demo", ...rest] = process.argv.slice(2)
const flag = (name: string, fallback: string): string => {
  const i = rest.indexOf(`--${name}`)
  return i >= 0 && rest[i + 1] !== undefined ? rest[i + 1]! : fallback
}

if (command === "demo") {
  const calls = Number(flag("calls", "400"))
  if (!Number.isInteger(calls) || calls < 1) {
    console.error(`--calls must be a positive integer, got ${JSON.stringify(flag("calls", ""))}`)
    process.exitCode = 2
  } else {
    process.exitCode = await runDemo({ calls, python: flag("python", "python3") })
  }
} else {
  console.error(`unknown command '${command}'; try: pyvisor demo [--calls N] [--python PATH]`)
  process.exitCode = 2
}

#!/usr/bin/env node
/**
 * The `pyvisor` command: `demo` (the default), `diagram`, `dashboard`, `doctor`, `types`. See `program.ts`.
 * @module
 */
// First: on an old Node, say so before any dependency fails to load.
import "../node-version.ts"
import { runCli } from "./program.ts"

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text)
})

/**
 * The `pyvisor` command line (commander): `demo`, `diagram`, `dashboard`, `doctor`, `types`. Usage errors (an unknown
 * command, flag or choice, a bad number) print one precise line naming the value and what was
 * expected, and exit with code 2; a command that fails at run time exits with 1.
 * @module
 */
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander"
import { FORMATS, MACHINES, renderDiagram } from "./diagram.ts"
import type { DiagramFormat } from "./diagram.ts"

/**
 * Where the command line writes, and what it runs (tests replace the long-running commands).
 *
 * @example
 * ```ts
 * const io: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }
 * ```
 */
export interface CliIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

/** An integer flag parser with bounds, for commander. */
const integer = (min: number, max: number) => (raw: string): number => {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`)
  return n
}

const nonEmpty = (raw: string): string => {
  if (raw.length === 0) throw new InvalidArgumentError("must not be empty.")
  return raw
}

/** `--module a,b`: the module names, blanks dropped (every command taking modules reads them so). */
const moduleList = (raw: string): ReadonlyArray<string> => nonEmpty(raw).split(",").map((m) => m.trim()).filter((m) => m.length > 0)

const failure = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Builds the program; each action resolves to the exit code it wants. */
const build = (io: CliIo, exit: (code: number) => void): Command => {
  const program = new Command("pyvisor")
    .description("Supervised pools of Python worker processes for Node.js")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showSuggestionAfterError()
    .allowExcessArguments(false)

  /**
   * The action of a long-running command: loads its module on first use (a plain `--help` loads
   * none), exits with the code its run resolves to (0 when it resolves with nothing, as the
   * dashboard does once stopped), and turns a throw into one line and exit 1.
   */
  const command = <O>(name: string, load: () => Promise<(options: O, io: CliIo) => Promise<number | void>>) => async (options: O): Promise<void> => {
    const run = await load()
    try {
      exit((await run(options, io)) ?? 0)
    } catch (error) {
      io.err(`pyvisor ${name} failed: ${failure(error)}\n`)
      exit(1)
    }
  }

  program.command("demo")
    .description("run a pool on the bundled quick-start worker and print what happened")
    .addOption(new Option("--workers <n>", "permanent workers").argParser(integer(1, 64)).default(4))
    .addOption(new Option("--calls <n>", "calls in the workload").argParser(integer(1, 100_000)).default(400))
    .addOption(new Option("--python <path>", "the interpreter").argParser(nonEmpty).default("python3"))
    .action(command("demo", async () => (await import("./demo.ts")).runDemo))

  program.command("diagram")
    .description("print a state machine: Mermaid source, Stately-compatible JSON, or SVG")
    .addArgument(new Argument("[machine]", "which machine").choices(Object.keys(MACHINES)).default("worker"))
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("mermaid"))
    .action((machine: string, options: { format: DiagramFormat }) => {
      io.out(renderDiagram(machine, options.format))
      exit(0)
    })

  program.command("dashboard")
    .description("start a pool and serve its live dashboard on 127.0.0.1; prints the URL")
    .requiredOption("--module <module>", "the Python module(s) to serve, comma-separated", moduleList)
    .addOption(new Option("--size <n>", "permanent workers").argParser(integer(1, 256)).default(4))
    .addOption(new Option("--cwd <dir>", "where the module is looked up").argParser(nonEmpty))
    .addOption(new Option("--python <path>", "the interpreter").argParser(nonEmpty))
    .addOption(new Option("--host <host>", "address to listen on").argParser(nonEmpty).default("127.0.0.1"))
    .addOption(new Option("--port <n>", "port (0: any free port)").argParser(integer(0, 65_535)).default(0))
    .option("--controls", "show kill and recycle buttons (and accept them)", false)
    .action(command("dashboard", async () => (await import("./dashboard.ts")).runDashboard))

  program.command("doctor")
    .description("check what workers need: Node, the interpreter (through shims), msgpack, numpy, the module's import, shadowed stdlib names, env, Redis")
    .addOption(new Option("--module <module>", "the Python module(s) to import, comma-separated").argParser(moduleList))
    .addOption(new Option("--cwd <dir>", "where the module is looked up (the workers' directory)").argParser(nonEmpty))
    .addOption(new Option("--python <path>", "the interpreter").argParser(nonEmpty).default("python3"))
    .addOption(new Option("--redis <url>", "a Redis URL to check (redis://host:port)").argParser(nonEmpty))
    .option("--json", "print the report as JSON", false)
    .action(command("doctor", async () => (await import("./doctor.ts")).runDoctor))

  program.command("types")
    .description("write the TypeScript types of a Python module's handlers (a .d.ts), or check the committed one")
    .requiredOption("--module <module>", "the Python module(s), comma-separated, imported as a worker imports them", moduleList)
    .addOption(new Option("--cwd <dir>", "where the module is looked up").argParser(nonEmpty))
    .addOption(new Option("--python <path>", "the interpreter").argParser(nonEmpty))
    .addOption(new Option("-o, --out <file>", "write the .d.ts here instead of printing it").argParser(nonEmpty))
    .option("--check", "compare with the file of -o instead of writing it; exit 1 when it differs", false)
    .action(command("types", async () => (await import("./types.ts")).runTypes))
  return program
}

/**
 * What `pyvisor doctor` was given.
 *
 * @example
 * ```ts
 * const o: DoctorCommandOptions = { module: ["my_workers"], cwd: "./py", python: "python3", json: false }
 * ```
 */
export interface DoctorCommandOptions {
  /** `--module`, split at commas. */
  readonly module?: ReadonlyArray<string>
  readonly cwd?: string
  readonly python: string
  readonly redis?: string
  readonly json: boolean
}

/**
 * What `pyvisor dashboard` was given.
 *
 * @example
 * ```ts
 * const o: DashboardCommandOptions = { module: ["my_workers"], size: 4, host: "127.0.0.1", port: 0, controls: false }
 * ```
 */
export interface DashboardCommandOptions {
  /** `--module`, split at commas. */
  readonly module: ReadonlyArray<string>
  readonly size: number
  readonly cwd?: string
  readonly python?: string
  readonly host: string
  readonly port: number
  readonly controls: boolean
}

/**
 * Runs the command line on `args` (without `node` and the script; none runs `demo`) and resolves with the exit code:
 * 0 for success and help, 2 for a usage error, 1 for a command that failed.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) })
 * ```
 */
export const runCli = async (args: ReadonlyArray<string>, io: CliIo): Promise<number> => {
  let code = 0
  const program = build(io, (c) => (code = c))
  try {
    // No command at all runs the demo, as `npx pyvisor` always has.
    await program.parseAsync(args.length === 0 ? ["demo"] : [...args], { from: "user" })
    return code
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error
    // Help and version are not errors; everything else commander refuses is a usage error.
    return error.code === "commander.helpDisplayed" || error.code === "commander.help" || error.code === "commander.version" ? 0 : 2
  }
}

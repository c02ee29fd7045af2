/**
 * How the worker's answers reach callers: an `error` frame becomes a typed error
 * (`PythonError`, or `UnknownHandlerError` for a name Python does not know), unencodable
 * arguments become `SerializationError`, and at exit the answers still in the pipe are read.
 */
import { InvalidArgumentsError, PythonError, SerializationError, UnknownHandlerError } from "../errors.ts"
import { UnserializableError } from "../protocol/index.ts"
import type { ErrorMessage } from "../protocol/index.ts"

const UNKNOWN_HANDLER = "pyvisor.UnknownHandler"
const INVALID_ARGUMENTS = "pyvisor.InvalidArguments"

/**
 * The error for a call to a handler the worker does not have.
 *
 * @example
 * ```ts
 * unknownHandlerError("ad", ["add"]).message // "no handler 'ad' in the worker; available: add"
 * ```
 */
export const unknownHandlerError = (name: string, available: ReadonlyArray<string>): UnknownHandlerError =>
  new UnknownHandlerError({
    message: `no handler '${name}' in the worker; available: ${available.length ? available.join(", ") : "(none)"}`,
    handler: name,
    available
  })

/**
 * The error a call to handler `name` rejects with when the worker answers with an `error` frame.
 *
 * @example
 * ```ts
 * answerError("w1", "div", { kind: "error", id: 1, type: "ZeroDivisionError", message: "division by zero", traceback: "" }, ["div"])
 * ```
 */
export const answerError = (workerId: string, name: string, m: ErrorMessage, handlers: ReadonlyArray<string>): Error =>
  m.type === UNKNOWN_HANDLER
    ? unknownHandlerError(name, handlers)
    : m.type === INVALID_ARGUMENTS
      ? new InvalidArgumentsError({ message: m.message, handler: name, parameter: m.parameter ?? "", expected: m.expected ?? "" })
      : new PythonError({
        message: `${m.type}: ${m.message}`, type: m.type, traceback: m.traceback, handler: name, workerId,
        ...(m.fullTraceback === undefined ? {} : { fullTraceback: m.fullTraceback })
      })

/**
 * What a failure to encode the arguments of `name` is thrown as.
 *
 * @example
 * ```ts
 * throw argumentsError("add", error) // SerializationError "arguments of 'add': ..." or `error` itself
 * ```
 */
export const argumentsError = (name: string, error: unknown): unknown =>
  error instanceof UnserializableError ? new SerializationError({ message: `arguments of '${name}': ${error.message}` }) : error

/**
 * Resolves once `stream` ended (true: every byte the worker wrote has been read), or false after
 * 200 ms (a grandchild may hold the pipe open).
 *
 * @example
 * ```ts
 * const complete = await drained(proc.fromWorker) // answers written before the exit have been read
 * ```
 */
export const drained = (stream: NodeJS.ReadableStream): Promise<boolean> =>
  new Promise((resolve) => {
    if ((stream as { readableEnded?: boolean }).readableEnded) return resolve(true)
    const done = (complete: boolean): void => {
      clearTimeout(timer)
      resolve(complete)
    }
    const timer = setTimeout(() => done(false), 200)
    stream.once("end", () => done(true))
    stream.once("close", () => done(true))
  })

/** Type-level checks, verified by `tsc -p tsconfig.json --noEmit` (no runtime assertions). */
import type { EventFromLogic, InputFrom, SnapshotFrom } from "xstate"
import type { WorkerContext, WorkerEvent, WorkerInput, WorkerStateValue, workerMachine } from "../../src/machines/index.ts"

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const assertType = <T extends true>(_proof?: T): void => undefined

type Worker = typeof workerMachine
assertType<Equals<SnapshotFrom<Worker>["value"], WorkerStateValue>>()
assertType<Equals<SnapshotFrom<Worker>["context"], WorkerContext>>()
assertType<Equals<EventFromLogic<Worker>, WorkerEvent>>()
assertType<Equals<InputFrom<Worker>, WorkerInput>>()
// @ts-expect-error a CALL carries the id of the call
assertType<Equals<Extract<WorkerEvent, { type: "CALL" }>, { type: "CALL" }>>()

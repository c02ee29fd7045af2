/**
 * What `python -m pyvisor_worker --describe` prints (python/pyvisor_worker/describe.py): every
 * handler's and program's signature as type nodes, and the named types they use. The renderer
 * (`render.ts`) turns it into a `.d.ts`; the worker's `--validate` checks calls against the same
 * nodes, so the two cannot disagree.
 * @module
 */

/**
 * A Python annotation as the value travels (docs/protocol.md section 2.1), not as the Python
 * object: a dataclass arrives as a dict, an Enum as its value, a tuple as a list.
 *
 * @example
 * ```ts
 * const node: TypeNode = { t: "list", of: { t: "union", of: [{ t: "int" }, { t: "none" }] } } // list[int | None]
 * ```
 */
export type TypeNode =
  | { readonly t: "int" | "float" | "str" | "bool" | "none" | "bytes" | "date" | "any" }
  | { readonly t: "unknown"; readonly note: string }
  | { readonly t: "list" | "dict"; readonly of: TypeNode }
  | { readonly t: "tuple"; readonly items: ReadonlyArray<TypeNode>; readonly rest?: TypeNode }
  | { readonly t: "union"; readonly of: ReadonlyArray<TypeNode> }
  | { readonly t: "literal"; readonly values: ReadonlyArray<string | number | boolean | null> }
  | { readonly t: "object"; readonly fields: ReadonlyArray<FieldRecord> }
  | { readonly t: "array"; readonly dtype: string | null; readonly ndim: number | null }
  | { readonly t: "ref"; readonly name: string }

/**
 * A key of an object type (dataclass field, TypedDict key, pydantic property).
 *
 * @example
 * ```ts
 * const field: FieldRecord = { name: "label", type: { t: "str" }, optional: true }
 * ```
 */
export interface FieldRecord {
  readonly name: string
  readonly type: TypeNode
  readonly optional: boolean
}

/**
 * A handler parameter; `kind` says which call form can pass it: `positional` (the array form only),
 * `both`, `keyword` (the object form only), `varargs` (`*args`), `kwargs` (`**kwargs`).
 *
 * @example
 * ```ts
 * const p: ParamRecord = { name: "b", kind: "both", type: { t: "int" }, optional: true } // b: int = 2
 * ```
 */
export interface ParamRecord {
  readonly name: string
  readonly kind: "positional" | "both" | "keyword" | "varargs" | "kwargs"
  readonly type: TypeNode
  readonly optional: boolean
}

/**
 * One `@handler`: `params` is null when Python could not read a signature (any arguments go).
 *
 * @example
 * ```ts
 * const add: HandlerRecord = { name: "add", doc: null, stream: false, async: false, params: [], result: { t: "int" }, yields: { t: "int" } }
 * ```
 */
export interface HandlerRecord {
  readonly name: string
  readonly doc: string | null
  /** A generator (or annotated as returning an iterator): `call` gets a list, `stream` the items. */
  readonly stream: boolean
  readonly async: boolean
  readonly params: ReadonlyArray<ParamRecord> | null
  readonly result: TypeNode
  readonly yields: TypeNode
}

/**
 * One `@program` kind and the spec its factory takes.
 *
 * @example
 * ```ts
 * const p: ProgramRecord = { kind: "shape", doc: null, spec: { t: "ref", name: "Point" } }
 * ```
 */
export interface ProgramRecord {
  readonly kind: string
  readonly doc: string | null
  readonly spec: TypeNode
}

/**
 * A named type (dataclass, TypedDict, Enum, NamedTuple, pydantic model or one of its definitions).
 *
 * @example
 * ```ts
 * const color: NamedType = { name: "Color", doc: null, type: { t: "literal", values: ["red", "green"] } }
 * ```
 */
export interface NamedType {
  readonly name: string
  readonly doc: string | null
  readonly type: TypeNode
}

/**
 * Everything the imported modules registered.
 *
 * @example
 * ```ts
 * const d: Description = { modules: ["my_workers"], handlers: [], programs: [], types: [] }
 * ```
 */
export interface Description {
  readonly modules: ReadonlyArray<string>
  readonly handlers: ReadonlyArray<HandlerRecord>
  readonly programs: ReadonlyArray<ProgramRecord>
  readonly types: ReadonlyArray<NamedType>
}

/**
 * Checks the top-level shape of what Python printed (the nodes are trusted: our own runtime wrote them).
 *
 * @example
 * ```ts
 * parseDescription(JSON.parse(stdout)) // throws when it is not a description
 * ```
 */
export const parseDescription = (raw: unknown): Description => {
  const d = raw as Partial<Record<keyof Description, unknown>> | null
  const arrays = ["modules", "handlers", "programs", "types"] as const
  if (typeof d !== "object" || d === null || arrays.some((key) => !Array.isArray(d[key]))) {
    throw new Error(`pyvisor_worker --describe printed no description: ${JSON.stringify(raw)?.slice(0, 200)}`)
  }
  return d as Description
}

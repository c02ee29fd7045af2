/**
 * A description (`description.ts`) as a `.d.ts`: an interface `Handlers` with one entry per
 * handler (`args`: the keyword object, `positional`: the array form, `result`, `yields`), an
 * interface `Programs` (each `@program` kind's spec) and the named types they use. Deterministic:
 * the same description always gives the same text, so `pyvisor types --check` can compare files.
 * @module
 */
import { TYPED_ARRAYS } from "../protocol/values.ts"
import type { Description, HandlerRecord, NamedType, ParamRecord, TypeNode } from "./description.ts"

/** numpy dtypes → the typed array their 1-D arrays arrive as: the codec's own table (uint8clamped is no numpy dtype). */
const TYPED: ReadonlyMap<string, string> = new Map(TYPED_ARRAYS.filter(([dtype]) => dtype !== "uint8clamped").map(([dtype, C]) => [dtype, C.name]))

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** An object key: bare when it can be, else quoted. */
const key = (name: string): string => (IDENTIFIER.test(name) ? name : JSON.stringify(name))

/** A note inside a block comment (it must not close it). */
const note = (text: string): string => text.replace(/\*\//g, "* /").replace(/\s+/g, " ")

/** `T[]` for a simple T, `Array<T>` for unions and the like. */
const arrayOf = (item: string): string => (/^[\w.]+$/.test(item) ? `${item}[]` : `Array<${item}>`)

/** What the rendered file imports from pyvisor (NdArray, NdData), filled in while rendering. */
interface Needs { ndarray: boolean; nddata: boolean }

const array = (node: Extract<TypeNode, { t: "array" }>, needs: Needs): string => {
  needs.ndarray ||= node.ndim !== 1
  const typed = node.dtype === null ? undefined : TYPED.get(node.dtype)
  if (typed === undefined) {
    needs.nddata ||= node.ndim === null || node.ndim === 1
    return node.ndim === 1 ? "NdData" : node.ndim === null ? "NdData | NdArray" : "NdArray"
  }
  // 1-D arrays travel as typed arrays, 0-D and 2+-D as NdArray; without a shape, either.
  if (node.ndim === 1) return typed
  return node.ndim === null ? `${typed} | NdArray<${typed}>` : `NdArray<${typed}>`
}

/**
 * The TypeScript type of a node.
 *
 * @example
 * ```ts
 * typeOf({ t: "dict", of: { t: "int" } }, { ndarray: false, nddata: false }) // "Record<string, number>"
 * ```
 */
export const typeOf = (node: TypeNode, needs: Needs): string => {
  switch (node.t) {
    case "int":
    case "float":
      return "number"
    case "str":
      return "string"
    case "bool":
      return "boolean"
    case "none":
      return "null"
    case "bytes":
      return "Uint8Array"
    case "date":
      return "Date"
    case "any":
      return "unknown"
    case "unknown":
      return `unknown /* ${note(node.note)} */`
    case "list":
      return arrayOf(typeOf(node.of, needs))
    case "dict":
      return `Record<string, ${typeOf(node.of, needs)}>`
    case "tuple": {
      if (node.items.length === 0 && node.rest !== undefined) return arrayOf(typeOf(node.rest, needs))
      const items = node.items.map((n) => typeOf(n, needs))
      if (node.rest !== undefined) items.push(`...${arrayOf(typeOf(node.rest, needs))}`)
      return `[${items.join(", ")}]`
    }
    case "union":
      return [...new Set(node.of.map((n) => typeOf(n, needs)))].join(" | ")
    case "literal":
      return node.values.map((v) => JSON.stringify(v)).join(" | ")
    case "object":
      return node.fields.length === 0 ? "Record<string, never>" : `{ ${node.fields.map((f) => `${key(f.name)}${f.optional ? "?" : ""}: ${typeOf(f.type, needs)}`).join("; ")} }`
    case "array":
      return array(node, needs)
    case "ref":
      return node.name
  }
}

/** A JSDoc block of `doc`, indented. */
const jsdoc = (doc: string | null, indent: string): Array<string> => {
  if (doc === null || doc.trim() === "") return []
  const lines = doc.replace(/\*\//g, "* /").split("\n")
  if (lines.length === 1) return [`${indent}/** ${lines[0]} */`]
  return [`${indent}/**`, ...lines.map((l) => (l === "" ? `${indent} *` : `${indent} * ${l}`)), `${indent} */`]
}

/** The object form of a call: `never` when a required parameter is positional-only. */
const argsType = (params: ReadonlyArray<ParamRecord>, needs: Needs): string => {
  if (params.some((p) => p.kind === "positional" && !p.optional)) return "never"
  const named = params.filter((p) => p.kind === "both" || p.kind === "keyword")
  const props = named.map((p) => `${key(p.name)}${p.optional ? "?" : ""}: ${typeOf(p.type, needs)}`)
  const kwargs = params.find((p) => p.kind === "kwargs")
  if (kwargs !== undefined) {
    // An index signature must admit every named property's type too.
    const all = [...new Set([kwargs, ...named].map((p) => typeOf(p.type, needs)))]
    props.push(`[key: string]: ${all.includes("unknown") ? "unknown" : all.join(" | ")}`)
  }
  return props.length === 0 ? "Record<string, never>" : `{ ${props.join("; ")} }`
}

/** The array form of a call: `never` when a required parameter is keyword-only. */
const positionalType = (params: ReadonlyArray<ParamRecord>, needs: Needs): string => {
  if (params.some((p) => p.kind === "keyword" && !p.optional)) return "never"
  const label = (name: string): string => (IDENTIFIER.test(name) ? name : `_${name.replace(/[^\w$]/g, "_")}`)
  const items = params.filter((p) => p.kind === "positional" || p.kind === "both")
    .map((p) => `${label(p.name)}${p.optional ? "?" : ""}: ${typeOf(p.type, needs)}`)
  const rest = params.find((p) => p.kind === "varargs")
  if (rest !== undefined) items.push(`...${label(rest.name)}: ${arrayOf(typeOf(rest.type, needs))}`)
  return `[${items.join(", ")}]`
}

const handler = (h: HandlerRecord, needs: Needs): Array<string> => [
  ...jsdoc(h.doc, "  "),
  `  ${key(h.name)}: {`,
  `    args: ${h.params === null ? "Record<string, unknown>" : argsType(h.params, needs)}`,
  `    positional: ${h.params === null ? "unknown[]" : positionalType(h.params, needs)}`,
  `    result: ${typeOf(h.result, needs)}`,
  `    yields: ${typeOf(h.yields, needs)}`,
  `    stream: ${h.stream}`,
  `    async: ${h.async}`,
  "  }"
]

const named = (t: NamedType, needs: Needs): Array<string> => {
  const doc = jsdoc(t.doc, "")
  if (t.type.t !== "object") return [...doc, `export type ${t.name} = ${typeOf(t.type, needs)}`]
  return [
    ...doc,
    `export interface ${t.name} {`,
    ...t.type.fields.map((f) => `  ${key(f.name)}${f.optional ? "?" : ""}: ${typeOf(f.type, needs)}`),
    "}"
  ]
}

/**
 * The `.d.ts` text of a description.
 *
 * @example
 * ```ts
 * const text = renderTypes(await describeModules({ module: ["my_workers"] }))
 * // export interface Handlers { add: { args: { a: number; b: number } ... } }
 * ```
 */
export const renderTypes = (d: Description): string => {
  const needs: Needs = { ndarray: false, nddata: false }
  const modules = d.modules.join(", ")
  const body = [
    `/** The \`@handler\`s of ${modules}: \`createPool<Handlers>(…)\` checks calls against them. */`,
    "export interface Handlers {",
    ...d.handlers.flatMap((h) => handler(h, needs)),
    "}",
    "",
    `/** The \`@program\` kinds of ${modules} and the spec each factory takes. */`,
    ...(d.programs.length === 0 ? ["export interface Programs {}"] : [
      "export interface Programs {",
      ...d.programs.flatMap((p) => [...jsdoc(p.doc, "  "), `  ${key(p.kind)}: { spec: ${typeOf(p.spec, needs)} }`]),
      "}"
    ]),
    ...d.types.flatMap((t) => ["", ...named(t, needs)])
  ]
  const imports = [needs.ndarray ? "NdArray" : "", needs.nddata ? "NdData" : ""].filter((s) => s !== "")
  return [
    `// Generated by \`pyvisor types\` from the Python module${d.modules.length === 1 ? "" : "s"} ${modules}. Do not edit:`,
    "// regenerate with `npx pyvisor types --module … -o <this file>`; CI checks it with `--check`.",
    ...(imports.length === 0 ? [] : [`import type { ${imports.join(", ")} } from "pyvisor"`]),
    "",
    ...body,
    ""
  ].join("\n")
}

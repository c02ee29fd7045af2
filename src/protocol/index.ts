/**
 * Protocol v1: frames, codecs, message types and validation. Imports nothing of pyvisor's.
 * @module
 */
export * from "./frame.ts"
export * from "./codec.ts"
export { MAX_NDIM, NdArray } from "./ndarray.ts"
export type { NdData, NdDataOf, NdDtype } from "./ndarray.ts"
export * from "./messages.ts"
export * from "./validate.ts"

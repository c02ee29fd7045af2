// Imported first by every entry point and importing nothing: ES modules evaluate depth-first
// in import order, so on an old Node this throws before any dependency (execa needs
// Set.prototype.union, Node >= 22) runs and dies with an unrelated error.

/** The oldest Node this library runs on (package.json "engines"). */
export const MINIMUM_NODE = "22.19"

/**
 * True if `version` ("20.19.2", "v24.1.0", "22.19.0-nightly…") is at least `minimum` ("22.19").
 * Missing parts count as 0; anything after the numbers (a pre-release tag) is ignored.
 */
export const nodeVersionAtLeast = (version: string, minimum: string = MINIMUM_NODE): boolean => {
  const parts = (v: string): Array<number> => {
    const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim())
    if (match === null) throw new Error(`not a version: ${JSON.stringify(v)}`)
    return [match[1], match[2], match[3]].map((p) => (p === undefined ? 0 : Number(p)))
  }
  const have = parts(version)
  const need = parts(minimum)
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== need[i]!) return have[i]! > need[i]!
  }
  return true
}

/** The error an entry point throws on `version`, or undefined if that Node is new enough. */
export const nodeVersionError = (version: string): string | undefined =>
  nodeVersionAtLeast(version) ? undefined : `pyvisor needs Node ≥ ${MINIMUM_NODE}, this is ${version.replace(/^v/, "")}`

const problem = nodeVersionError(process.versions.node)
if (problem !== undefined) throw new Error(problem)

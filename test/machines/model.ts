// Coverage plumbing shared by the model-based machine tests.

interface Step { readonly state: { readonly value: unknown }; readonly event: { readonly type: string } }
interface Path { readonly steps: ReadonlyArray<Step> }

/** Every "source -EVENT-> target" taken by the paths. */
export const coveredEdges = (paths: ReadonlyArray<Path>): Set<string> =>
  new Set(paths.flatMap((p) =>
    p.steps.slice(1).map((step, i) => `${String(p.steps[i]?.state.value)} -${step.event.type}-> ${String(step.state.value)}`)))

/** Every state value the paths visit. */
export const reachedStates = (paths: ReadonlyArray<Path>): Set<unknown> =>
  new Set(paths.flatMap((p) => p.steps.map((s) => s.state.value)))

"""Worker module of the programs example: create a predictor once, run it from any worker.

    createPool({ worker: { module: "qa_workers", cwd: "examples/programs" } })

`create_program` stores only the spec (in the caller's session, or globally without one); each
worker that runs the program builds it from that spec on first use and reuses it afterwards.
"""
from fewshot import Predict  # noqa: F401 (registers the "predict" program kind)

from pyvisor_worker import Context, handler


@handler
def create_program(ctx: Context, signature, demos=(), fallback=None):
    spec = {"signature": signature, "demos": list(demos)}
    if fallback is not None:
        spec["fallback"] = fallback
    return ctx.programs.create("predict", spec)


@handler
def run_program(ctx: Context, program_id, inputs):
    return ctx.programs.get(program_id)(inputs)


@handler
def explain_program(ctx: Context, program_id, inputs):
    outputs, demo, score = ctx.programs.get(program_id).explain(inputs)
    return {"outputs": outputs, "demo": demo, "score": round(score, 4)}


@handler
def delete_program(ctx: Context, program_id):
    return ctx.programs.delete(program_id)

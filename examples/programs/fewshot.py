"""A tiny DSPy-style program kind: `@program("predict")` compiles a signature plus demos.

Why it exists: it shows what a program is for pyvisor. The spec (a signature such as
"question -> answer" and a few demos) is plain data stored on the host; any worker turns it into
a working predictor on first use and keeps it. Here "compiling" means indexing the demos' input
tokens, and predicting means returning the outputs of the demo whose inputs overlap most with the
new inputs (Jaccard on word tokens). No model, no third-party package, fully deterministic.
"""
import re
from collections import Counter

from pyvisor_worker import program

_WORD = re.compile(r"\w+")
# Words that match everything carry no signal for "which demo is this like".
_STOPWORDS = frozenset("a an and are do does for how i in is it of on or the to was what when where which who why "
                       "with you".split())
_FIELD = re.compile(r"[A-Za-z_]\w*\Z")


def tokens(text):
    return frozenset(w for w in _WORD.findall(str(text).lower()) if w not in _STOPWORDS)


def parse_signature(signature):
    """'context, question -> answer' -> (('context', 'question'), ('answer',))."""
    if not isinstance(signature, str) or signature.count("->") != 1:
        raise ValueError(f"a signature looks like 'question -> answer', not {signature!r}")
    sides = []
    for side in signature.split("->"):
        names = tuple(n.strip() for n in side.split(",") if n.strip())
        bad = [n for n in names if not _FIELD.match(n)]
        if not names or bad:
            raise ValueError(f"signature {signature!r}: each side needs field names, got {side.strip()!r}")
        sides.append(names)
    inputs, outputs = sides
    if set(inputs) & set(outputs):
        raise ValueError(f"signature {signature!r}: a field cannot be both input and output")
    return inputs, outputs


@program("predict")
class Predict:
    """spec: {"signature": "question -> answer", "demos": [{...}, ...], "fallback": {...}?}.

    Calling it with the input fields returns a dict of the output fields. With no overlapping
    demo it returns `fallback`, by default the most common outputs among the demos (the earliest
    on a tie), so the same inputs always give the same answer.
    """

    __slots__ = ("signature", "inputs", "outputs", "demos", "_index", "_demo_tokens", "fallback")

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise TypeError(f"a predict spec is a map with 'signature' and 'demos', not {type(spec).__name__}")
        self.signature = spec.get("signature")
        self.inputs, self.outputs = parse_signature(self.signature)
        demos = spec.get("demos") or []
        for i, demo in enumerate(demos):
            missing = [f for f in self.inputs + self.outputs if not isinstance(demo, dict) or f not in demo]
            if missing:
                raise ValueError(f"demo {i} lacks field(s) {', '.join(missing)} of {self.signature!r}")
        self.demos = [{f: d[f] for f in self.outputs} for d in demos]
        # Inverted index: only demos sharing a token with the inputs are scored.
        self._demo_tokens = [tokens(" ".join(str(d[f]) for f in self.inputs)) for d in demos]
        self._index = {}
        for i, toks in enumerate(self._demo_tokens):
            for tok in toks:
                self._index.setdefault(tok, []).append(i)
        fallback = spec.get("fallback")
        if fallback is None:
            seen = Counter(tuple(repr(d[f]) for f in self.outputs) for d in self.demos)
            best = max(seen.values(), default=0)
            fallback = next((d for d in self.demos if seen[tuple(repr(d[f]) for f in self.outputs)] == best),
                            {f: None for f in self.outputs})
        elif not isinstance(fallback, dict) or set(fallback) != set(self.outputs):
            raise ValueError(f"fallback must map exactly the output fields {', '.join(self.outputs)}")
        self.fallback = dict(fallback)

    def explain(self, inputs):
        """(outputs, index of the demo used or None, score in [0, 1])."""
        if isinstance(inputs, str) and len(self.inputs) == 1:
            inputs = {self.inputs[0]: inputs}
        if not isinstance(inputs, dict):
            raise TypeError(f"inputs is a map of {', '.join(self.inputs)}")
        missing = [f for f in self.inputs if f not in inputs]
        if missing:
            raise ValueError(f"missing input field(s) {', '.join(missing)} of {self.signature!r}")
        query = tokens(" ".join(str(inputs[f]) for f in self.inputs))
        overlap = Counter(i for tok in query for i in self._index.get(tok, ()))
        best, best_score = None, 0.0
        for i in sorted(overlap):  # ascending: the earliest demo wins a tie
            score = overlap[i] / len(query | self._demo_tokens[i])
            if score > best_score:
                best, best_score = i, score
        if best is None:
            return dict(self.fallback), None, 0.0
        return dict(self.demos[best]), best, best_score

    def __call__(self, inputs):
        return self.explain(inputs)[0]

"""Annotations as type nodes (typenodes.py), the describe entry point (describe.py) and the
argument checks of --validate (checks.py), in process; the 3.9 typing forms are run here on
whatever Python runs the suite (3.9 itself is not installed on this machine)."""
import array
import dataclasses
import enum
import json
import os
import subprocess
import sys
import typing
import unittest
from typing import Annotated, Any, Dict, List, Literal, NewType, Optional, Tuple, TypeVar, Union

from harness import FIXTURES, PYTHON_DIR, InvokerTest

from pyvisor_worker import handler
from pyvisor_worker.checks import InvalidArguments, install, mismatch, spell
from pyvisor_worker.describe import signature
from pyvisor_worker.registry import REGISTRY
from pyvisor_worker.typenodes import Types, _eval_annotation, resolve_hints
from pyvisor_worker.values import NdArray

INT, STR, NONE = {"t": "int"}, {"t": "str"}, {"t": "none"}
UserId = NewType("UserId", int)
Bounded = TypeVar("Bounded", bound=str)


class Shade(enum.IntEnum):
    DARK = 1
    LIGHT = 2


@dataclasses.dataclass
class Tree:
    value: int
    children: "List[Tree]" = dataclasses.field(default_factory=list)


class NoBar(type):
    """A metaclass without `|`: how classes behave on Python 3.9."""

    __or__ = None
    __ror__ = None


class Old(metaclass=NoBar):
    pass


def node(tp):
    return Types().node(tp)


class TypingFormsTest(unittest.TestCase):
    def test_python39_typing_forms(self):
        self.assertEqual(node(List[int]), {"t": "list", "of": INT})
        self.assertEqual(node(Dict[str, int]), {"t": "dict", "of": INT})
        self.assertEqual(node(Tuple[int, str]), {"t": "tuple", "items": [INT, STR]})
        self.assertEqual(node(Tuple[int, ...]), {"t": "tuple", "items": [], "rest": INT})
        self.assertEqual(node(Tuple[()]), {"t": "tuple", "items": []})
        self.assertEqual(node(Optional[int]), {"t": "union", "of": [INT, NONE]})
        self.assertEqual(node(Union[int, Union[str, None]]), {"t": "union", "of": [INT, STR, NONE]})
        self.assertEqual(node(Literal["a", 1, None]), {"t": "literal", "values": ["a", 1, None]})
        self.assertEqual(node(Annotated[int, "meta"]), INT)
        self.assertEqual(node(UserId), INT)
        self.assertEqual(node(Bounded), STR)
        self.assertEqual(node(Any), {"t": "any"})
        self.assertEqual(node(typing.Iterable[str]), {"t": "list", "of": STR})

    def test_builtin_generics_and_union_operator(self):
        self.assertEqual(node(list[int]), {"t": "list", "of": INT})
        self.assertEqual(node(dict[str, list[str]]), {"t": "dict", "of": {"t": "list", "of": STR}})
        self.assertEqual(node(eval("int | None")), {"t": "union", "of": [INT, NONE]})  # noqa: S307 (3.9 cannot parse it at run time)

    def test_named_types_are_defined_once_and_may_recurse(self):
        types = Types()
        self.assertEqual(types.node(List[Tree]), {"t": "list", "of": {"t": "ref", "name": "Tree"}})
        self.assertEqual(types.node(Shade), {"t": "ref", "name": "Shade"})
        self.assertEqual(types.defs["Shade"]["type"], {"t": "literal", "values": [1, 2]})
        self.assertEqual(types.defs["Tree"]["type"]["fields"][1],
                         {"name": "children", "type": {"t": "list", "of": {"t": "ref", "name": "Tree"}}, "optional": True})

    def test_generated_class_docstrings_are_not_documentation(self):
        types = Types()
        types.node(Tree)  # a dataclass without a docstring: dataclasses writes "Tree(value: int, ...)"
        types.node(typing.NamedTuple("Pair", [("a", int), ("b", str)]))
        self.assertEqual((types.defs["Tree"]["doc"], types.defs["Pair"]["doc"]), (None, None))
        self.assertEqual(types.defs["Pair"]["type"], {"t": "tuple", "items": [INT, STR]})

    def test_what_cannot_be_read_is_unknown_never_a_crash(self):
        self.assertEqual(node(5)["t"], "unknown")
        self.assertEqual(node("Missing"), {"t": "unknown", "note": "unresolved annotation 'Missing'"})
        self.assertEqual(node(object()).get("t"), "unknown")
        self.assertIn("has no wire form", node(unittest.TestCase)["note"])

    def test_pipe_unions_read_where_classes_have_no_pipe_as_on_39(self):
        namespace = {"Old": Old, "List": List}
        with self.assertRaises(TypeError):
            eval("Old | None", namespace)  # noqa: S307
        self.assertEqual(_eval_annotation("Old | None", namespace, None), Optional[Old])
        self.assertEqual(_eval_annotation("List[Old] | int | None", namespace, None), Union[List[Old], int, None])

    def test_unresolvable_annotations_leave_the_others_readable(self):
        def f(a: "int", b: "NotDefinedAnywhere", c: "Optional[str]" = None) -> "int":
            return a

        hints = resolve_hints(f)
        self.assertEqual(hints["a"], int)
        self.assertEqual(hints["b"], "NotDefinedAnywhere")
        self.assertEqual(hints["c"], Optional[str])
        record = signature(Types(), "f", f, False)
        self.assertEqual([p["type"]["t"] for p in record["params"]], ["int", "unknown", "union"])

    def test_pydantic_like_models_through_their_json_schema(self):
        class Node:
            @classmethod
            def model_json_schema(cls):
                return {"$defs": {"Node": {"type": "object", "properties": {
                    "name": {"type": "string"}, "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
                    "kind": {"const": "node"}, "weird": {"not": {}}}, "required": ["name"]}},
                    "$ref": "#/$defs/Node"}

        types = Types()
        self.assertEqual(types.node(Node), {"t": "ref", "name": "Node"})
        fields = {f["name"]: f for f in types.defs["Node"]["type"]["fields"]}
        self.assertEqual(fields["name"], {"name": "name", "type": STR, "optional": False})
        self.assertEqual(fields["next"]["type"], {"t": "union", "of": [{"t": "ref", "name": "Node"}, NONE]})
        self.assertEqual(fields["kind"]["type"], {"t": "literal", "values": ["node"]})
        self.assertEqual(fields["weird"]["type"]["t"], "unknown")


class DescribeMainTest(unittest.TestCase):
    def run_describe(self, module, cwd):
        env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
        return subprocess.run([sys.executable, "-m", "pyvisor_worker", "--describe", "--import", module],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)

    def test_prints_json_alone_on_stdout_and_import_prints_on_stderr(self):
        r = self.run_describe("typed_noisy", os.path.join(FIXTURES, "typed"))
        self.assertEqual(r.returncode, 0, r.stderr)
        described = json.loads(r.stdout)
        self.assertEqual([h["name"] for h in described["handlers"]], ["shout"])
        self.assertIn("hello from typed_noisy at import", r.stderr)

    def test_an_import_failure_is_a_traceback_and_exit_1(self):
        r = self.run_describe("import_error", FIXTURES)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("ImportError: this fixture cannot be imported on purpose", r.stderr)


class MismatchTest(unittest.TestCase):
    def test_nested_values(self):
        tp = {"t": "dict", "of": {"t": "list", "of": {"t": "union", "of": [INT, NONE]}}}
        self.assertIsNone(mismatch(tp, {"a": [1, None]}, {}))
        self.assertEqual(mismatch(tp, {"a": [1, "x"]}, {}),
                         "key 'a' should be list[int | None], got list [1, 'x'] (item 1 should be int | None, got str 'x')")
        self.assertEqual(spell(tp, {}), "dict[str, list[int | None]]")

    def test_numbers_bools_and_literals_are_told_apart(self):
        self.assertEqual(mismatch(INT, True, {}), "")
        self.assertIsNone(mismatch({"t": "float"}, 3, {}))
        self.assertEqual(mismatch({"t": "literal", "values": [1]}, True, {}), "")
        self.assertIsNone(mismatch({"t": "literal", "values": [True]}, True, {}))

    def test_arrays_without_numpy(self):
        floats = {"t": "array", "dtype": "float64", "ndim": None}
        self.assertIsNone(mismatch(floats, array.array("d", [1.0]), {}))
        self.assertEqual(mismatch(floats, array.array("i", [1]), {}), "dtype int32")
        grid = {"t": "array", "dtype": "int16", "ndim": 2}
        self.assertIsNone(mismatch(grid, NdArray("int16", (2, 1), array.array("h", [1, 2])), {}))
        self.assertEqual(mismatch(grid, NdArray("int16", (2,), array.array("h", [1, 2])), {}), "1 dimensions")
        self.assertEqual(mismatch(floats, [1.0], {}), "")


class ValidateInvokeTest(InvokerTest):
    prefix = "vt_"

    @staticmethod
    def register():
        @handler("vt_add")
        def add(ctx, a: int, b: int = 1) -> int:
            return a + b + (0 if ctx.id else 100)

    def setUp(self):
        super().setUp()
        self.saved = dict(REGISTRY)
        install()

    def tearDown(self):
        REGISTRY.clear()
        REGISTRY.update(self.saved)

    def test_a_fitting_call_runs_with_its_context(self):
        self.invoker.run(self.context("vt_add", {"a": 1}))
        self.assertEqual(self.writer.sent[-1], {"kind": "result", "id": 1, "value": 2})

    def test_a_mismatch_is_an_error_frame_with_the_parameter_and_the_type(self):
        self.invoker.run(self.context("vt_add", [1, "2"]))
        self.assertEqual(self.writer.sent[-1], {
            "kind": "error", "id": 1, "type": "pyvisor.InvalidArguments", "traceback": "",
            "message": "invalid arguments for 'vt_add': parameter 'b' expects int, got str '2'",
            "parameter": "b", "expected": "int"})

    def test_args_that_are_neither_map_nor_array_name_args_without_validate_too(self):
        REGISTRY.clear()
        REGISTRY.update(self.saved)
        self.invoker.run(self.context("vt_add", "nope"))
        self.assertEqual({k: self.writer.sent[-1][k] for k in ("type", "parameter", "expected")},
                         {"type": "pyvisor.InvalidArguments", "parameter": "args", "expected": "dict | list | None"})

    def test_install_keeps_what_the_registry_knew(self):
        fn, wants_ctx = REGISTRY["vt_add"]
        self.assertTrue(wants_ctx)
        self.assertEqual(fn.__name__, "add")
        with self.assertRaises(InvalidArguments):
            fn(None, a="x")


if __name__ == "__main__":
    unittest.main()

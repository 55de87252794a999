"""Rewrite a test cell so the student's kernel reports results instead of judging them.

``expect_close(actual, expected, rtol=1e-9, name="...")`` becomes
``__dlcourse_observe__(site, actual, "...")``: the expected value (the oracle) is dropped, so
it is never computed where student code runs, and the options (tolerances, exactness) stay
here, in :class:`CheckSpec`, where the student cannot change them. An expected value written as
a literal (``0.5``, ``(2, 3)``, ``np.zeros(4)``) is kept too, so a visible check is judged, and
its message written, against what the student reads in the test cell rather than against the
reference's rounding of it.
"""
from __future__ import annotations

import ast
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlcourse.policy import guard_test_cell, kernel_setup
from grader.course import CourseError

OBSERVE = "__dlcourse_observe__"
CHECKS = {"expect_close": {"rtol", "atol", "check_dtype", "check_type", "name"},
          "expect_equal": {"check_dtype", "check_type", "name"}}


def setup_source(forbidden: tuple[str, ...] = ()) -> str:
    """The first cell grading runs in a kernel, before any student code: the reporting function,
    and guards on every routine the lesson's exercises must not use (:mod:`dlcourse.policy`)."""
    return f"from dlcourse.observe import observe as {OBSERVE}\n" + kernel_setup(forbidden)


def guard_source(source: str, forbidden: tuple[str, ...]) -> str:
    """A rewritten test cell run inside a policy window for its exercise's ``forbidden`` names."""
    return guard_test_cell(source, forbidden)


NOT_A_LITERAL = ()
_NUMPY_CONSTRUCTORS = {"array", "asarray", "zeros", "ones", "full", "eye", "arange"}
_NUMPY_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_"}
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}


class _NotLiteral(Exception):
    pass


def _literal(node: ast.AST) -> Any:
    """The value of an expected argument made of literals, arithmetic on them and numpy constructors
    of literals (``np.zeros(3)``, ``np.array([[0.5, 0.5]], dtype=np.float32)``); raises _NotLiteral.
    It reads the lesson's own test cells (trusted), never a submission."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex, bool, str, type(None))):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_number(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_number(node.left), _number(node.right))
    if isinstance(node, ast.Call) and _numpy_name(node.func) in _NUMPY_CONSTRUCTORS:
        args = [_literal(a) for a in node.args]
        kwargs = {k.arg: _dtype(k.value) if k.arg == "dtype" else _literal(k.value) for k in node.keywords}
        return getattr(np, _numpy_name(node.func))(*args, **kwargs)
    raise _NotLiteral


def _number(node: ast.AST) -> Any:
    value = _literal(node)
    if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
        raise _NotLiteral
    return value


def _numpy_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy"):
        return node.attr
    return None


def _dtype(node: ast.AST) -> Any:
    if _numpy_name(node) in _NUMPY_DTYPES:
        return getattr(np, _numpy_name(node))
    if isinstance(node, ast.Constant) and node.value in _NUMPY_DTYPES:
        return node.value
    raise _NotLiteral


def literal_expectation(node: ast.AST) -> Any:
    """The expected value written in a check, when it is a literal; else :data:`NOT_A_LITERAL`."""
    try:
        return _literal(node)
    except (_NotLiteral, ArithmeticError, ValueError, TypeError):
        return NOT_A_LITERAL


@dataclass(frozen=True)
class CheckSpec:
    """How one check call compares, read from the test cell's source."""
    kind: str                       # "expect_close" or "expect_equal"
    options: dict = field(default_factory=dict)   # literal keyword arguments (rtol, atol, check_dtype, check_type)
    # the expected value when the test writes it as a literal, else NOT_A_LITERAL
    literal: Any = field(default=NOT_A_LITERAL, compare=False)

    @property
    def check_type(self) -> bool:
        """Whether the result's types must be the reference's (on unless the test says otherwise)."""
        return bool(self.options.get("check_type", True))

    def compare_options(self) -> dict:
        """Keyword arguments for :func:`dlcourse.checks.compare`."""
        options = {k: v for k, v in self.options.items() if k != "check_type"}
        return {**options, "exact": self.kind == "expect_equal"}


@dataclass(frozen=True)
class RewrittenCell:
    source: str
    specs: tuple[CheckSpec, ...]


class _Rewriter(ast.NodeTransformer):
    def __init__(self, where: str):
        self.where = where
        self.specs: list[CheckSpec] = []

    def visit_Assert(self, node):
        raise CourseError(f"{self.where}: a bare assert in a test cell cannot be judged by the grader; "
                          "use expect_close / expect_equal")

    def visit_Call(self, node):
        self.generic_visit(node)
        if not (isinstance(node.func, ast.Name) and node.func.id in CHECKS):
            return node
        kind = node.func.id
        if len(node.args) != 2 or any(k.arg is None for k in node.keywords):
            raise CourseError(f"{self.where}: {kind} takes (actual, expected) and keyword options")
        options, name = {}, ast.Constant(None)
        for keyword in node.keywords:
            if keyword.arg not in CHECKS[kind]:
                raise CourseError(f"{self.where}: {kind} has no option {keyword.arg!r}")
            if keyword.arg == "name":
                name = keyword.value
                continue
            try:
                options[keyword.arg] = ast.literal_eval(keyword.value)
            except ValueError:
                raise CourseError(f"{self.where}: option {keyword.arg} of {kind} must be a literal") from None
        site = len(self.specs)
        self.specs.append(CheckSpec(kind, options, literal_expectation(node.args[1])))
        return ast.copy_location(
            ast.Call(func=ast.Name(OBSERVE, ast.Load()), args=[ast.Constant(site), node.args[0], name], keywords=[]),
            node)


def rewrite_test_cell(source: str, where: str = "test cell") -> RewrittenCell:
    """Rewrite the checks of a test cell into observations.

    Args:
        source: the test cell's source as written in ``solutions/`` (hidden tests included).
        where: a label for error messages (the cell's grade id).

    Returns:
        The rewritten source and one :class:`CheckSpec` per check call, in source order.

    Raises:
        CourseError: the cell has a bare ``assert``, a check with positional options or a
            non-literal option, which the grader could not judge.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise CourseError(f"{where}: the test cell is not valid Python ({error})") from None
    rewriter = _Rewriter(where)
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    if not rewriter.specs:
        raise CourseError(f"{where}: a test cell needs at least one expect_close / expect_equal check")
    return RewrittenCell(ast.unparse(tree), tuple(rewriter.specs))

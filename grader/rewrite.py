"""Rewrite a test cell so the student's kernel reports results instead of judging them.

``expect_close(actual, expected, rtol=1e-9, name="...")`` becomes
``__dlcourse_observe__(site, actual, "...")``: the expected value (the oracle) is dropped, so
it is never computed where student code runs, and the options (tolerances, exactness) stay
here, in :class:`CheckSpec`, where the student cannot change them.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader.course import CourseError

OBSERVE = "__dlcourse_observe__"
CHECKS = {"expect_close": {"rtol", "atol", "check_dtype", "check_type", "name"},
          "expect_equal": {"check_dtype", "check_type", "name"}}
SETUP = f"from dlcourse.observe import observe as {OBSERVE}"


@dataclass(frozen=True)
class CheckSpec:
    """How one check call compares, read from the test cell's source."""
    kind: str                       # "expect_close" or "expect_equal"
    options: dict = field(default_factory=dict)   # literal keyword arguments (rtol, atol, check_dtype, check_type)

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
        self.specs.append(CheckSpec(kind, options))
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

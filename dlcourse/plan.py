"""Which cells of a lesson notebook must run to check its exercises, and which can be skipped.

Checking an exercise needs the student's code and the tests, not the lesson's demonstrations
(training runs, plots). A cell is run when it is the first code cell (imports and seeding), an
answer cell, a test cell, or a cell the caller also requires (the grader adds every cell the
student added or changed). Any other cell is skipped, unless a cell that runs reads a name it
assigns (found by reading the code, closed over dependencies): so a student's function that
uses a global defined in the lesson still finds it.

Pure code analysis, shared by the student's validator (:mod:`dlcourse.validate`) and the
grader, so both run the same cells.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from typing import Callable

from IPython.core.inputtransformer2 import TransformerManager

from dlcourse.notebook import is_answer_cell, is_test_cell

_TRANSFORMER = TransformerManager()


@lru_cache(maxsize=4096)
def _names(source: str) -> tuple[frozenset[str], frozenset[str], bool]:
    """(global names read before the cell assigns them, names assigned at top level, parses?).

    Reads are global: a function's parameters and locals, and comprehension variables, are
    not reads of the notebook's names. IPython syntax (magics, ``!``) is allowed.
    """
    try:
        tree = ast.parse(source)    # plain Python reads the same with or without IPython's transforms
    except (SyntaxError, ValueError):
        try:
            tree = ast.parse(_TRANSFORMER.transform_cell(source))
        except (SyntaxError, ValueError):
            return frozenset(), frozenset(), False
    free: set[str] = set()
    bound: set[str] = set()
    _visit(tree.body, free, bound)
    return frozenset(free), frozenset(bound), True


@lru_cache(maxsize=4096)
def _late_reads(source: str) -> frozenset[str]:
    """Global names read inside the bodies of the functions a cell defines: resolved when the
    function is called, so a cell after the definition (a student's helper) may assign them."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(set().union(*[_global_loads(f) for f in _outermost_functions(tree)]))


def _outermost_functions(node: ast.AST):
    """The functions and lambdas under ``node`` that no other function encloses (a nested one's
    reads of its enclosing function's names are not globals)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield child
        else:
            yield from _outermost_functions(child)


def _global_loads(node: ast.AST, local: frozenset[str] = frozenset()) -> set[str]:
    """Names a node reads from the notebook's namespace (not its own locals or parameters)."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) and node.id not in local else set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg] if x}
        body = node.body if isinstance(node.body, list) else [node.body]
        stored = {x.id for b in body for x in ast.walk(b) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store)}
        local = local | params | stored
    elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        local = local | {x.id for g in node.generators for x in ast.walk(g.target) if isinstance(x, ast.Name)}
    return set().union(*[_global_loads(child, local) for child in ast.iter_child_nodes(node)])


def _visit(statements: list[ast.stmt], free: set[str], bound: set[str]) -> None:
    """Walk statements in order: a name is free if it is read before the cell assigns it."""
    for statement in statements:
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)):
            header = [getattr(statement, "iter", None), getattr(statement, "test", None),
                      *[item.context_expr for item in getattr(statement, "items", [])]]
            free.update(set().union(*[_global_loads(h) for h in header if h is not None]) - bound)
            bound.update(_targets(statement))
            for block in ("body", "orelse", "finalbody"):
                _visit(getattr(statement, block, []), free, bound)
            for handler in getattr(statement, "handlers", []):
                _visit(handler.body, free, bound)
        else:
            free.update(_global_loads(statement) - bound)
            bound.update(_assigned(statement))


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(statement: ast.stmt) -> set[str]:
    """Names a statement binds or mutates itself (``x = ``, ``x.a = ``, ``x[i] += ``, def, import, for x)."""
    names: set[str] = set()
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(statement.name)
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            names.add("*" if alias.name == "*" else (alias.asname or alias.name).split(".")[0])
    targets: list[ast.AST] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
        targets = [statement.target]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in statement.items if item.optional_vars is not None]
    for target in targets:
        for node in ast.walk(target):
            root = _root(node) if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred, ast.Name)) else None
            if root:
                names.add(root)
    return names


def _assigned(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds or mutates, in the bodies of its loops and branches too
    (not in the bodies of the functions or classes it defines: those are their own scope)."""
    names = _targets(statement)
    if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                names |= _assigned(child)
        for handler in getattr(statement, "handlers", []):
            for child in handler.body:
                names |= _assigned(child)
    return names


def cells_to_run(sources: list[str], required: list[bool]) -> list[bool]:
    """Close a set of required code cells over the names they read.

    Args:
        sources: the code of every code cell, in notebook order.
        required: whether each cell must run (setup, answers, tests, student edits).

    Returns:
        For each cell, whether grading runs it: the required cells, plus every earlier
        optional cell that assigns a name a running cell reads before assigning it itself
        (transitively). A cell with a star import, or one that cannot be parsed, is kept
        whenever a cell after it runs.

    One pass from the last cell to the first, carrying the names the running cells after the
    current one read (linear in the size of the notebook); then cells a running function's body
    reads from later cells, and again while that adds cells (usually once).
    """
    run = list(required)
    while True:
        needed: set[str] = set()
        running_after = False
        for i in range(len(sources) - 1, -1, -1):
            reads, assigned, ok = _names(sources[i])
            if not run[i] and running_after and (not ok or "*" in assigned or not assigned.isdisjoint(needed)):
                run[i] = True
            if run[i]:
                needed |= reads
                running_after = True
        # A function's body reads its globals when it is called: a cell after the definition
        # and before a later running cell may assign them (a helper the student put below).
        added = False
        late: set[str] = set()
        last = max((i for i, r in enumerate(run) if r), default=-1)
        for i in range(last):
            if run[i]:
                late |= _late_reads(sources[i])
            elif late:
                _, assigned, ok = _names(sources[i])
                if ok and not assigned.isdisjoint(late):
                    run[i] = added = True
        if not added:
            return run


def planned_cells(nb, also: Callable[[dict], bool] | None = None) -> list[int]:
    """Indices of the code cells to run to check a notebook's exercises, in notebook order.

    Args:
        nb: the notebook (nbformat v4).
        also: for a code cell, whether it must run too (e.g. the student changed it).

    Returns:
        The first code cell, every answer and test cell and every cell ``also`` accepts,
        plus what they need (see :func:`cells_to_run`).
    """
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    required = [position == 0 or is_answer_cell(nb.cells[i]) or is_test_cell(nb.cells[i])
                or bool(also and also(nb.cells[i])) for position, i in enumerate(code)]
    return [i for i, keep in zip(code, cells_to_run([nb.cells[i].source for i in code], required)) if keep]

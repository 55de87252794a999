"""Which cells of a submission grading must run, and which it can skip.

Grading needs the student's code and the tests, not the lesson's demonstrations (training
runs, plots). A cell is run when it is the first code cell (imports and seeding), an answer
cell, a test cell, or a cell the student added or changed. An unchanged cell of the lesson
is skipped, unless a cell that runs reads a name it assigns (found by reading the code,
closed over dependencies): so a student's function that uses a global defined in the
lesson still finds it.
"""
from __future__ import annotations

import ast
from functools import lru_cache

from IPython.core.inputtransformer2 import TransformerManager

_TRANSFORMER = TransformerManager()


@lru_cache(maxsize=4096)
def _names(source: str) -> tuple[frozenset[str], frozenset[str], bool]:
    """(names read, names assigned at top level, parses?) of a cell's code (IPython syntax allowed)."""
    try:
        tree = ast.parse(_TRANSFORMER.transform_cell(source))
    except (SyntaxError, ValueError):
        return frozenset(), frozenset(), False
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assigned: set[str] = set()
    for statement in tree.body:
        assigned |= _assigned(statement)
    return frozenset(read), frozenset(assigned), True


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _assigned(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds or mutates (``x = ``, ``x.a = ``, ``x[i] += ``, def, import...)."""
    names: set[str] = set()
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(statement.name)
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            names.add("*" if alias.name == "*" else (alias.asname or alias.name).split(".")[0])
    targets: list[ast.AST] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        targets = [statement.target]
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        targets = [statement.target]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in statement.items if item.optional_vars is not None]
    for target in targets:
        for node in ast.walk(target):
            root = _root(node) if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred, ast.Name)) else None
            if root:
                names.add(root)
    # Compound statements at top level (if / for / with / try) may bind in their bodies.
    for child in ast.iter_child_nodes(statement):
        if isinstance(child, ast.stmt):
            names |= _assigned(child)
    return names


def cells_to_run(sources: list[str], required: list[bool]) -> list[bool]:
    """Close a set of required code cells over the names they read.

    Args:
        sources: the code of every code cell, in notebook order.
        required: whether each cell must run (setup, answers, tests, student edits).

    Returns:
        For each cell, whether grading runs it: the required cells, plus every earlier
        optional cell that assigns a name a running cell reads (transitively). A cell
        with a star import, or one that cannot be parsed, is kept whenever it could matter.
    """
    run = list(required)
    parsed = [_names(s) for s in sources]
    changed = True
    while changed:
        changed = False
        for i, needed in enumerate(run):
            if not needed:
                continue
            reads = parsed[i][0]
            for j in range(i):
                if run[j]:
                    continue
                _, assigned, ok = parsed[j]
                if not ok or "*" in assigned or assigned & reads:
                    run[j] = True
                    changed = True
    return run

"""What an exercise must not use: guards on the built-ins it re-implements.

An exercise declares, in its answer cell's metadata, the routines that would do its work for
it (``metadata.dlcourse.forbidden``: dotted names such as ``"torch.softmax"`` or
``"torch.Tensor.softmax"``). When the grader (or the student's validator) runs a notebook, it
first calls :func:`install` with every name the lesson forbids: each routine is replaced, in its
module or class and wherever else the same object is bound in the package, by a guard that
calls the original. Every test cell runs inside :func:`test_window`'s ``open`` / ``close``
(see :func:`guard_test_cell`): while it runs, a guard that is called *from the student's code*
records its name, and ``close`` reports the names as an observation (``{"site": "policy",
"calls": [...]}``), which the grader turns into the status ``forbidden``.

"From the student's code" is decided by walking up the Python stack from the guard: the first
frame that is neither library code (a file of the Python installation or of ``dlcourse``) nor
the test cell's own code (its code objects, not its file name, which student code can borrow)
says who called it; a stack with no such frame (a thread the student started) is the student's.
So an alias (``sm = torch.softmax``), ``getattr``
with a computed name, a tensor method, a library function that calls the routine on the
student's behalf, or an import inside the answer are all seen; the test cell's own use of the
routine (to build its inputs) is not. README.md says what this cannot catch.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from typing import Any, Iterable, Iterator

POLICY_SITE = "policy"
# The names under which a checking kernel (the grader's, the student's validator's) knows the
# functions below: dunders no answer would bind.
INSTALL, OPEN, REPORT = "__dlcourse_policy_install__", "__dlcourse_policy_open__", "__dlcourse_policy_report__"
_GUARD = "__dlcourse_guard__"
_LIBRARY = tuple({os.path.join(p, "") for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} |
                 {os.path.join(os.path.dirname(os.path.abspath(__file__)), "")})

_installed: dict[str, Any] = {}          # dotted name -> original
_window: dict[str, Any] = {"names": frozenset(), "test_code": frozenset()}
_calls: list[str] = []


def resolve(name: str) -> tuple[Any, str, Any]:
    """``(owner, attribute, object)`` of a dotted name: the module or class that holds it.

    Raises:
        ImportError, AttributeError: the name does not exist.
    """
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:-1]:
            owner = getattr(owner, attribute)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ImportError(f"no module in {name!r}")


def _is_library(filename: str) -> bool:
    return filename.startswith("<frozen ") or (filename.startswith(_LIBRARY) and os.path.isfile(filename))


def _called_by_student(frame) -> bool:
    """Whether the nearest frame that is not library code is outside the running test cell (or
    there is none: the call came from a thread or callback of the student's, not from the test)."""
    while frame is not None:
        if frame.f_code in _window["test_code"]:
            return False
        if not _is_library(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return True


def _code_objects(code) -> Iterator[Any]:
    """``code`` and every code object defined in it (functions, lambdas, comprehensions, classes)."""
    yield code
    for constant in code.co_consts:
        if inspect.iscode(constant):
            yield from _code_objects(constant)


def _guarded(name: str, original: Any) -> Any:
    """A function that behaves as ``original`` and records calls from the student's code."""
    def guard(*args, **kwargs):
        if name in _window["names"] and _called_by_student(sys._getframe(1)):
            _calls.append(name)
        return original(*args, **kwargs)

    try:
        functools.update_wrapper(guard, original)
    except (AttributeError, TypeError):
        pass
    guard.__dict__.pop("__wrapped__", None)
    setattr(guard, _GUARD, name)
    return guard


def _rebind(root: str, original: Any, replacement: Any) -> None:
    """Replace ``original`` by ``replacement`` wherever a loaded module of package ``root`` binds it."""
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == root or module_name.startswith(root + ".")):
            continue
        namespace = getattr(module, "__dict__", {})
        for attribute, value in list(namespace.items()):
            if value is original:
                try:
                    setattr(module, attribute, replacement)
                except (AttributeError, TypeError):
                    pass


def install(names: Iterable[str]) -> None:
    """Guard every routine in ``names`` (dotted names, see :func:`resolve`); idempotent.

    A function or method is replaced by a guard; a class keeps its identity (so ``isinstance``
    and subclassing still work) and has its ``__init__`` guarded instead.
    """
    for name in names:
        if name in _installed:
            continue
        owner, attribute, original = resolve(name)
        if getattr(original, _GUARD, None):
            continue
        if inspect.isclass(original):
            init = original.__dict__.get("__init__", original.__init__)
            setattr(original, "__init__", _guarded(name, init))
        else:
            guard = _guarded(name, original)
            setattr(owner, attribute, guard)
            _rebind(name.split(".")[0], original, guard)
        _installed[name] = original


def open_window(names: Iterable[str]) -> None:
    """Start recording calls of ``names`` made by the student's code; the caller is the test cell."""
    _window["names"] = frozenset(names)
    _window["test_code"] = frozenset(_code_objects(sys._getframe(1).f_code))
    _calls.clear()


def close_window() -> list[str]:
    """Stop recording; the names called (each once, in order of first call)."""
    called = list(dict.fromkeys(_calls))
    _window["names"], _window["test_code"] = frozenset(), frozenset()
    _calls.clear()
    return called


def report_window() -> None:
    """Close the window and report what was called, as an observation of site ``"policy"``."""
    from IPython.display import publish_display_data

    from dlcourse.observe import MIME

    publish_display_data({MIME: {"site": POLICY_SITE, "calls": close_window()}})


def kernel_setup(names: Iterable[str]) -> str:
    """Source of a cell that a checking kernel runs before any of the student's code: it binds
    :data:`INSTALL`, :data:`OPEN` and :data:`REPORT`, then guards ``names`` (:func:`install`)."""
    return (f"from dlcourse.policy import install as {INSTALL}, open_window as {OPEN}, "
            f"report_window as {REPORT}\n"
            f"{INSTALL}({list(names)!r})")


def reported_calls(outputs: Iterable[dict]) -> list[str] | None:
    """The names a test cell's policy report (:func:`report_window`) says were called, from the
    cell's outputs as nbformat stores them; None when the cell reported nothing."""
    from dlcourse.observe import MIME

    for output in outputs:
        report = output.get("data", {}).get(MIME) if output.get("output_type") == "display_data" else None
        if isinstance(report, dict) and report.get("site") == POLICY_SITE and isinstance(report.get("calls"), list):
            return [name for name in report["calls"] if isinstance(name, str)]
    return None


def guard_test_cell(source: str, names: Iterable[str], opener: str = OPEN, reporter: str = REPORT) -> str:
    """A test cell's source run inside a policy window for ``names``.

    Args:
        source: the (already rewritten) test cell.
        names: what the exercise must not use.
        opener, reporter: the names under which the kernel knows :func:`open_window` and the
            function that closes the window and reports it (:func:`kernel_setup` binds the defaults).

    Returns:
        One ``try`` statement (one code object, which :func:`open_window` takes for the test
        cell's own: IPython compiles each top-level statement apart) that calls ``opener(names)``
        then runs the cell, and whose ``finally`` calls ``reporter()``.
    """
    import ast

    tree = ast.parse(source)
    call = lambda function, *args: ast.Expr(ast.Call(ast.Name(function, ast.Load()), list(args), []))  # noqa: E731
    names_node = ast.Tuple([ast.Constant(n) for n in sorted(names)], ast.Load())
    tree.body = [ast.Try(body=[call(opener, names_node), *tree.body], handlers=[], orelse=[], finalbody=[call(reporter)])]
    return ast.unparse(ast.fix_missing_locations(tree))

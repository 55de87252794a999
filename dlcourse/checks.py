"""Checks for the lessons' test cells, and small comparison helpers for the lessons.

A test cell calls :func:`expect_close` or :func:`expect_equal` with the student's result
first and an independent expectation (a literal, torch, a finite difference) second.
Run in a notebook, the check compares the two and raises an ``AssertionError`` that says
what was expected and what came back.

The grader's judge relies on that shape: it rewrites every check call so that the
student's kernel only reports the first argument, and compares that report with the
reference solution's in its own process, using :func:`compare` from this module.  So in a
test cell:

* the expectation (and anything that computes it, such as a torch oracle) goes *inside*
  the second argument, never in a separate statement;
* keyword arguments other than ``name`` are literals (``rtol=1e-6``, not ``rtol=tol``).

Both checks also compare *types* by default (``check_type=True``): the result must have the
container and scalar types of the expected value (see :func:`type_signature`), so a list does
not pass where an array is promised, nor ``782.0`` where an ``int`` is.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["expect_close", "expect_equal", "compare", "compare_types", "type_signature", "as_data",
           "Difference", "cmp", "rel_error"]

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-8


def as_data(value: Any) -> Any:
    """Turn a result into plain data: numpy arrays, strings, None, lists and dicts of them.

    Args:
        value: a number, bool, string, None, numpy array, torch tensor, or a (nested)
            list / tuple / dict of those.

    Returns:
        The same structure with every number or array as a numpy array (0-d for
        scalars), every tensor detached and moved to the CPU, a list or tuple of
        same-shaped numeric arrays stacked into one array, other lists and tuples as
        lists, dict keys as strings.

    Raises:
        TypeError: for anything else, with a message naming the type.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        return np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError("an array of Python objects cannot be compared as numbers")
        return value
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().resolve_conj().numpy().copy()
    if isinstance(value, dict):
        return {str(k): as_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [as_data(v) for v in value]
        # Stacking depends only on the content, so a list and a tuple of the same
        # arrays become the same data.
        if items and all(isinstance(v, np.ndarray) and v.dtype.kind in "biufc" for v in items) \
                and len({v.shape for v in items}) == 1:
            return np.stack(items)
        return items
    raise TypeError(f"a result of type {type(value).__name__} cannot be compared")


class Difference(str):
    """A sentence describing how a result differs from the expected one, with its ``kind``.

    ``kind`` is one of ``type`` (container or scalar type), ``shape``, ``dtype``, ``values``,
    ``nonfinite`` (nan or inf where a finite value was expected, or the reverse), ``length``
    (number of results), ``keys`` (of a dict) or ``container`` (a structure where a number or an
    array was expected, or the reverse), so a caller can say *what kind* of thing differs
    without repeating the details.
    """

    kind: str

    def __new__(cls, text: str, kind: str) -> "Difference":
        self = super().__new__(cls, text)
        self.kind = kind
        return self


_SCALAR_KINDS = {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex"}


def type_signature(value: Any) -> Any:
    """The container and scalar types of a result, as JSON-ready data.

    Args:
        value: anything :func:`as_data` accepts.

    Returns:
        ``"None"``, ``"str"``, ``"bool"``, ``"int"``, ``"float"``, ``"complex"`` for scalars
        (numpy scalars and 0-d arrays count as the Python scalar of their kind),
        ``"ndarray"``, ``"tensor"``, or ``{"list": [...]}`` / ``{"tuple": [...]}`` /
        ``{"dict": {key: ...}}`` of the items' signatures. A list or tuple of two or more
        items that all share one signature is written ``{"list": {"each": sig, "n": n}}``, so
        the signature stays small for long lists. Anything else: its type's name.
    """
    if value is None:
        return "None"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (complex, np.complexfloating)):
        return "complex"
    if isinstance(value, np.ndarray):
        return _SCALAR_KINDS.get(value.dtype.kind, "ndarray") if value.ndim == 0 else "ndarray"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, dict):
        return {"dict": {str(k): type_signature(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        items = [type_signature(v) for v in value]
        if len(items) > 1 and all(item == items[0] for item in items):
            return {kind: {"each": items[0], "n": len(items)}}
        return {kind: items}
    return type(value).__name__


_ARTICLES = {"None": "None", "str": "a string", "bool": "a bool", "int": "an int", "float": "a float",
             "complex": "a complex number", "ndarray": "a numpy array", "tensor": "a torch tensor"}


def _describe_type(signature: Any) -> str:
    if isinstance(signature, dict) and len(signature) == 1:
        (kind, _), = signature.items()
        return {"list": "a list", "tuple": "a tuple", "dict": "a dict"}.get(kind, "a structure")
    return _ARTICLES.get(signature, f"a {signature}") if isinstance(signature, str) else "an unknown type"


def _item(signature: dict, kind: str, index: int) -> Any:
    body = signature[kind]
    return body["each"] if isinstance(body, dict) else body[index]


def _length(signature: dict, kind: str) -> int:
    body = signature[kind]
    return int(body["n"]) if isinstance(body, dict) else len(body)


def compare_types(actual: Any, expected: Any, _path: str = "") -> Difference | None:
    """Compare two :func:`type_signature` results; describe the first difference of type.

    Containers are compared recursively, item by item (for as many items as both have, and
    for the keys both dicts have: lengths and keys are the values' business, see :func:`compare`).

    Returns:
        None when the types agree, else a :class:`Difference` of kind ``type``.
    """
    prefix = f"{_path}: " if _path else ""
    kind_of = lambda s: next(iter(s)) if isinstance(s, dict) and len(s) == 1 else s  # noqa: E731
    if kind_of(actual) != kind_of(expected) or not isinstance(expected, dict):
        if actual == expected:
            return None
        return Difference(f"{prefix}got {_describe_type(actual)}, expected {_describe_type(expected)}", "type")
    kind = kind_of(expected)
    try:
        if kind == "dict":
            pairs = [(f"[{key!r}]", actual["dict"][key], sub) for key, sub in expected["dict"].items()
                     if key in actual["dict"]]
        else:
            pairs = [(f"[{i}]", _item(actual, kind, i), _item(expected, kind, i))
                     for i in range(min(_length(actual, kind), _length(expected, kind)))]
    except (TypeError, KeyError, ValueError, AttributeError):
        return Difference(f"{prefix}the type of the result is malformed", "type")
    for where, a, e in pairs:
        difference = compare_types(a, e, f"{_path}{where}")
        if difference:
            return difference
    return None


def _describe_shape(a: np.ndarray) -> str:
    return "a scalar" if a.ndim == 0 else f"shape {tuple(a.shape)}"


def _compare_arrays(actual: np.ndarray, expected: np.ndarray, *, exact: bool, rtol: float,
                    atol: float, check_dtype: bool, reveal: bool) -> Difference | None:
    if actual.shape != expected.shape:
        return Difference(f"got {_describe_shape(actual)}, expected {_describe_shape(expected)}", "shape")
    if check_dtype and actual.dtype != expected.dtype:
        return Difference(f"got dtype {actual.dtype}, expected {expected.dtype}", "dtype")
    numeric = (np.issubdtype(actual.dtype, np.number) or actual.dtype == bool) and (
        np.issubdtype(expected.dtype, np.number) or expected.dtype == bool)
    if not numeric:
        if actual.dtype.kind != expected.dtype.kind or not np.array_equal(actual, expected):
            return Difference(f"got {actual.dtype} values that differ from the expected {expected.dtype} values",
                              "values")
        return None
    a = actual.astype(np.complex128 if np.iscomplexobj(actual) else np.float64)
    e = expected.astype(np.complex128 if np.iscomplexobj(expected) else np.float64)
    if actual.dtype.kind in "iub" and expected.dtype.kind in "iub":
        # integers compare exactly (as float64, numbers above 2**53 would look equal)
        same = actual.dtype.kind == expected.dtype.kind or "u" not in (actual.dtype.kind, expected.dtype.kind)
        bad = (actual != expected) if same else (actual.astype(object) != expected.astype(object))
        tolerance = "integers compare exactly"
    elif exact:
        bad = ~((a == e) | (np.isnan(a) & np.isnan(e)))
        tolerance = "exact match"
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        tolerance = f"rtol={rtol:g}, atol={atol:g}"
    if not bad.any():
        return None
    n_bad, n = int(bad.sum()), bad.size
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        abs_diff = np.where(bad, np.abs(a - e), 0.0)
        # relative differences only where the expected value is not zero
        rel_diff = np.where(bad & (e != 0), abs_diff / np.abs(np.where(e != 0, e, 1)), 0.0)
    finite = np.isfinite(abs_diff)
    worst = np.unravel_index(int(np.argmax(np.where(finite, abs_diff, np.inf))), a.shape)
    where = f" at index {list(map(int, worst))}" if a.ndim else ""
    parts = [f"{n_bad} of {n} values differ" if n > 1 else "the value differs"]
    kind = "values" if finite[bad].all() else "nonfinite"
    if kind == "nonfinite":
        parts.append("some are nan or inf where a finite value was expected, or the reverse")
    else:
        relative = f", max rel diff {float(rel_diff.max()):.3g}" if (bad & (e != 0)).any() else \
            (" (where 0 was expected)" if reveal else "")
        parts.append(f"max abs diff {float(abs_diff.max()):.3g}{where}{relative}")
    if reveal:
        parts.append(f"got {a[worst].item()!r}, expected {e[worst].item()!r}{where}")
    return Difference("; ".join(parts) + f" ({tolerance})", kind)


def compare(actual: Any, expected: Any, *, exact: bool = False, rtol: float = DEFAULT_RTOL,
            atol: float = DEFAULT_ATOL, check_dtype: bool = False, reveal: bool = True,
            _path: str = "") -> Difference | None:
    """Compare two results (as returned by :func:`as_data`) and describe the first difference.

    Args:
        actual, expected: plain data from :func:`as_data`.
        exact: require equality instead of closeness.
        rtol, atol: tolerances of ``numpy.isclose`` (NaN equals NaN).
        check_dtype: also require the same array dtype (e.g. float32 in, float32 out).
        reveal: include the expected value in the message (False for hidden tests).

    Returns:
        None when they match, else a :class:`Difference`: one sentence saying what differs and
        where, with the kind of difference.
    """
    prefix = f"{_path}: " if _path else ""
    if isinstance(expected, np.ndarray):
        if not isinstance(actual, np.ndarray):
            return Difference(f"{prefix}got {type(actual).__name__}, expected a number or an array", "container")
        message = _compare_arrays(actual, expected, exact=exact, rtol=rtol, atol=atol,
                                  check_dtype=check_dtype, reveal=reveal)
        return Difference(prefix + message, message.kind) if message else None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return Difference(f"{prefix}got {type(actual).__name__}, expected {len(expected)} results", "container")
        if len(actual) != len(expected):
            return Difference(f"{prefix}got {len(actual)} results, expected {len(expected)}", "length")
        for i, (a, e) in enumerate(zip(actual, expected)):
            message = compare(a, e, exact=exact, rtol=rtol, atol=atol, check_dtype=check_dtype,
                              reveal=reveal, _path=f"{_path}[{i}]")
            if message:
                return message
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return Difference(f"{prefix}got {type(actual).__name__}, expected a dict", "container")
        if set(actual) != set(expected):
            return Difference(f"{prefix}got keys {sorted(actual)}, expected {sorted(expected)}", "keys")
        for key in expected:
            message = compare(actual[key], expected[key], exact=exact, rtol=rtol, atol=atol,
                              check_dtype=check_dtype, reveal=reveal, _path=f"{_path}[{key!r}]")
            if message:
                return message
        return None
    if actual != expected:
        shown = f", expected {expected!r}" if reveal else ""
        return Difference(f"{prefix}got {actual!r}{shown}", "values")
    return None


def _check(actual: Any, expected: Any, name: str | None, check_type: bool, **options: Any) -> None:
    label = f"{name}: " if name else ""
    try:
        got = as_data(actual)
    except TypeError as error:
        raise AssertionError(f"{label}{error}") from None
    message = compare(got, as_data(expected), **options)
    if not message and check_type:
        message = compare_types(type_signature(actual), type_signature(expected))
    if message:
        raise AssertionError(label + message)


def expect_close(actual: Any, expected: Any, *, rtol: float = DEFAULT_RTOL,
                 atol: float = DEFAULT_ATOL, check_dtype: bool = False, check_type: bool = True,
                 name: str | None = None) -> None:
    """Assert that ``actual`` matches ``expected`` within tolerances, element by element.

    Args:
        actual: the student's result: number, array, tensor, or a tuple / list / dict of them.
        expected: the independent expectation, with the same structure and shapes.
        rtol, atol: relative and absolute tolerance (``numpy.isclose``; NaN equals NaN).
        check_dtype: also require matching array dtypes.
        check_type: also require the container and scalar types of ``expected``
            (:func:`type_signature`); pass False where several types are allowed.
        name: a short label shown in the failure message, e.g. ``"logits of ±1e4"``.

    Raises:
        AssertionError: saying which type, shape, dtype or values differ and by how much.
    """
    _check(actual, expected, name, check_type, rtol=rtol, atol=atol, check_dtype=check_dtype)


def expect_equal(actual: Any, expected: Any, *, check_dtype: bool = False, check_type: bool = True,
                 name: str | None = None) -> None:
    """Assert that ``actual`` equals ``expected`` exactly (integers, labels, shapes, strings).

    Args:
        actual: the student's result (same kinds as :func:`expect_close`).
        expected: the expectation.
        check_dtype: also require matching array dtypes.
        check_type: also require the container and scalar types of ``expected``.
        name: a short label shown in the failure message.

    Raises:
        AssertionError: saying what differs.
    """
    _check(actual, expected, name, check_type, exact=True, check_dtype=check_dtype)


def rel_error(x: Any, y: Any) -> float:
    """Largest relative error between two arrays, as in CS231n: max |x-y| / max(1e-8, |x|+|y|).

    Args:
        x, y: arrays or tensors of the same shape.

    Returns:
        A float; about 1e-7 or less means the two agree to float64 rounding of a
        finite-difference check, 1e-2 or more means something is wrong.
    """
    a, b = np.asarray(as_data(x), dtype=np.float64), np.asarray(as_data(y), dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def cmp(name: str, actual: Any, expected: Any, *, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """Print how ``actual`` compares with ``expected``, micrograd style, and return closeness.

    Prints one line: ``name | exact: … | close: … | max diff: …``.

    Args:
        name: what is being compared, e.g. ``"dW1"``.
        actual, expected: arrays or tensors of the same shape.
        rtol, atol: tolerances for "close".

    Returns:
        True when the two are close.
    """
    a, b = np.asarray(as_data(actual), dtype=np.float64), np.asarray(as_data(expected), dtype=np.float64)
    if a.shape != b.shape:
        print(f"{name:15s} | shapes differ: {a.shape} vs {b.shape}")
        return False
    exact = bool(np.array_equal(a, b))
    close = bool(np.allclose(a, b, rtol=rtol, atol=atol))
    max_diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    print(f"{name:15s} | exact: {str(exact):5s} | close: {str(close):5s} | max diff: {max_diff:.2e}")
    return close


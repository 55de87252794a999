"""The grader's wire format: how a test cell reports a result from the student's kernel.

When the grader runs a submission, it rewrites every ``expect_close(actual, expected, ...)``
of a test cell into ``__dlcourse_observe__(site, actual, name)``: the kernel only reports
``actual``, as plain data in a display message of type :data:`MIME` (its value, and its type
signature from :func:`dlcourse.checks.type_signature`), and the grader compares it with the
reference solution's report in its own process (``grader.judge``). Only numbers,
arrays, strings and their lists and dicts cross that boundary; never pickled objects.

:func:`encode` runs in the student's kernel, :func:`decode` in the grader: both are here so
the format is written down once.
"""
from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from dlcourse.checks import as_data, type_signature

MIME = "application/vnd.dlcourse.observation+json"
# dtypes an observation may carry; anything else is refused when decoding
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
MAX_DEPTH = 8
MAX_NDIM = 32      # numpy's own limit is 64; no lesson reports more than 4 dimensions


def encode(value: Any) -> Any:
    """Encode a result as JSON-ready data.

    Args:
        value: anything :func:`dlcourse.checks.as_data` accepts.

    Returns:
        ``None``, a string, ``{"ndarray": {"dtype", "shape", "b64"}}`` for arrays (little
        endian bytes, base64), ``{"list": [...]}`` or ``{"dict": {...}}``.

    Raises:
        TypeError: the value cannot be compared as data.
    """
    return _encode(as_data(value))


def _encode(data: Any) -> Any:
    if data is None or isinstance(data, str):
        return data
    if isinstance(data, np.ndarray):
        if data.dtype.name not in DTYPES:
            raise TypeError(f"an array of dtype {data.dtype} cannot be compared")
        little = data.astype(data.dtype.newbyteorder("<"), copy=False)
        return {"ndarray": {"dtype": data.dtype.name, "shape": list(data.shape),
                            "b64": base64.b64encode(little.tobytes(order="C")).decode("ascii")}}
    if isinstance(data, list):
        return {"list": [_encode(v) for v in data]}
    if isinstance(data, dict):
        return {"dict": {k: _encode(v) for k, v in data.items()}}
    raise TypeError(f"a result of type {type(data).__name__} cannot be compared")


def decode(payload: Any, _depth: int = 0) -> Any:
    """Decode :func:`encode`'s output back into numpy arrays, strings, lists and dicts.

    Runs on untrusted input: anything malformed raises ``ValueError``.
    """
    if _depth > MAX_DEPTH:
        raise ValueError("observation nested too deeply")
    if payload is None or isinstance(payload, str):
        return payload
    if not isinstance(payload, dict) or len(payload) != 1:
        raise ValueError("malformed observation")
    (kind, body), = payload.items()
    if kind == "ndarray":
        if not isinstance(body, dict) or body.get("dtype") not in DTYPES:
            raise ValueError("observation has an unknown dtype")
        shape = body.get("shape")
        if not isinstance(shape, list) or len(shape) > MAX_NDIM \
                or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ValueError("observation has a malformed shape")
        raw = base64.b64decode(str(body.get("b64", "")), validate=True)
        dtype = np.dtype(body["dtype"]).newbyteorder("<")
        if len(raw) != math.prod(shape) * dtype.itemsize:   # Python ints: a shape beyond int64 cannot overflow
            raise ValueError("observation size does not match its shape")
        return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(shape)
    if kind == "list" and isinstance(body, list):
        return [decode(v, _depth + 1) for v in body]
    if kind == "dict" and isinstance(body, dict):
        return {str(k): decode(v, _depth + 1) for k, v in body.items()}
    raise ValueError("malformed observation")


def decode_type(payload: Any, _depth: int = 0) -> Any:
    """Check a type signature received from a kernel (see :func:`dlcourse.checks.type_signature`).

    Runs on untrusted input: returns the signature unchanged, or raises ``ValueError`` for
    anything that :func:`~dlcourse.checks.type_signature` could not have produced.
    """
    if _depth > MAX_DEPTH:
        raise ValueError("type signature nested too deeply")
    if isinstance(payload, str):
        if len(payload) > 100:
            raise ValueError("type signature has a name that is too long")
        return payload
    if not isinstance(payload, dict) or len(payload) != 1:
        raise ValueError("malformed type signature")
    (kind, body), = payload.items()
    if kind in ("list", "tuple") and isinstance(body, list):
        for item in body:
            decode_type(item, _depth + 1)
    elif kind in ("list", "tuple") and isinstance(body, dict) and set(body) == {"each", "n"} \
            and isinstance(body["n"], int) and not isinstance(body["n"], bool) and 2 <= body["n"] <= 10**9:
        decode_type(body["each"], _depth + 1)
    elif kind == "dict" and isinstance(body, dict):
        for item in body.values():
            decode_type(item, _depth + 1)
    else:
        raise ValueError("malformed type signature")
    return payload


def observe(site: int, value: Any, name: Any = None) -> None:
    """Report the result of check number ``site`` of the running test cell to the grader.

    Args:
        site: index of the check call in the test cell's source.
        value: the student's result (the check's first argument).
        name: the check's label, shown in feedback.
    """
    from IPython.display import publish_display_data

    report: dict[str, Any] = {"site": int(site), "name": None if name is None else str(name)[:200]}
    try:
        report["value"] = encode(value)
        report["type"] = type_signature(value)
    except TypeError as error:
        report["error"] = str(error)
    publish_display_data({MIME: report})

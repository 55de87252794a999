"""The C library, for the system calls Python 3.11 does not wrap (mount, setns, prctl, ...)."""
from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    """Raise :class:`OSError` (with ``what`` and errno's message) if a libc call returned non-zero."""
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")

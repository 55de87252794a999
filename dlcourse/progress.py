"""Progress bars for training loops: a bar in JupyterLab, a line in a terminal, silence in tests.

In a notebook the bar is an HTML ``<progress>`` element updated in place (a few times a
second, not at every step) and replaced by nothing when the loop ends, so a saved notebook
keeps no stale bars or widget state. In a terminal it is tqdm's text bar, also removed at the
end. With the environment variable ``DLCOURSE_QUIET`` set (the test suite and the grader set
it) it shows nothing at all.
"""
from __future__ import annotations

import html
import os
import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

QUIET_VARIABLE = "DLCOURSE_QUIET"
REFRESH_SECONDS = 0.2


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _bar_html(done: int, total: int | None, desc: str | None, elapsed: float) -> str:
    label = f"{html.escape(desc)}: " if desc else ""
    rate = f"{done / elapsed:.1f} it/s" if elapsed > 0 and done else ""
    if total:
        eta = (total - done) * elapsed / done if done else 0.0
        return (f'<div style="font-family:monospace">{label}<progress value="{done}" max="{total}" '
                f'style="width:40%;vertical-align:middle"></progress> {done}/{total} '
                f'[{elapsed:.0f}s &lt; {eta:.0f}s, {rate}]</div>')
    return f'<div style="font-family:monospace">{label}{done} [{elapsed:.0f}s, {rate}]</div>'


def _notebook_bar(items: Iterable[T], total: int | None, desc: str | None) -> Iterator[T]:
    from IPython.display import HTML, display

    handle = display(HTML(_bar_html(0, total, desc, 0.0)), display_id=True)
    started = last = time.monotonic()
    done = 0
    try:
        for item in items:
            yield item
            done += 1
            now = time.monotonic()
            if now - last >= REFRESH_SECONDS:
                handle.update(HTML(_bar_html(done, total, desc, now - started)))
                last = now
    finally:
        handle.update(HTML(""))


def progress(iterable: Iterable[T], total: int | None = None, desc: str | None = None) -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar that disappears when the loop ends.

    Args:
        iterable: what the loop runs over (epochs, batches).
        total: its length when ``len(iterable)`` does not work.
        desc: a short label shown before the bar, e.g. ``"epoch"``.

    Returns:
        An iterable yielding the same items, in the same order.
    """
    if os.environ.get(QUIET_VARIABLE):
        return iterable
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if _in_notebook():
        return _notebook_bar(iterable, total, desc)
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)

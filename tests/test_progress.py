"""dlcourse.progress: a bar that updates in place in a notebook and leaves nothing behind."""
from __future__ import annotations

import importlib

import IPython.display

from dlcourse.progress import progress

progress_module = importlib.import_module("dlcourse.progress")  # the package exports a function of that name


class FakeHandle:
    def __init__(self, log):
        self.log = log

    def update(self, obj):
        self.log.append(obj.data)


def test_quiet_mode_is_the_identity(monkeypatch):
    monkeypatch.setenv("DLCOURSE_QUIET", "1")
    items = [1, 2, 3]
    assert progress(items) is items


def test_notebook_bar_updates_in_place_and_vanishes(monkeypatch):
    monkeypatch.delenv("DLCOURSE_QUIET", raising=False)
    monkeypatch.setattr(progress_module, "_in_notebook", lambda: True)
    monkeypatch.setattr(progress_module, "REFRESH_SECONDS", 0.0)
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=False: shown.append(obj.data) or FakeHandle(shown))
    assert list(progress(range(5), desc="epoch")) == [0, 1, 2, 3, 4]
    assert "<progress" in shown[0] and 'max="5"' in shown[0] and "epoch" in shown[0]
    assert any('value="3"' in html for html in shown)
    assert shown[-1] == "", "the bar is removed when the loop ends"


def test_notebook_bar_vanishes_when_the_loop_breaks(monkeypatch):
    monkeypatch.delenv("DLCOURSE_QUIET", raising=False)
    monkeypatch.setattr(progress_module, "_in_notebook", lambda: True)
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=False: shown.append(obj.data) or FakeHandle(shown))
    bar = progress(iter(range(100)), total=100)
    for i in bar:
        if i == 2:
            break
    bar.close()
    assert shown[-1] == ""


def test_terminal_bar_yields_the_same_items(monkeypatch, capsys):
    monkeypatch.delenv("DLCOURSE_QUIET", raising=False)
    assert list(progress(range(3))) == [0, 1, 2]
    assert capsys.readouterr().out == "", "progress goes to stderr, not into printed results"

"""Helpers shared by the lessons: data loaders, checks, reproducibility, progress bars, plots.

No exercise answers live here: each exercise is written in its lesson's notebook.
"""
from dlcourse.checks import cmp, expect_close, expect_equal, rel_error
from dlcourse.data import load_fashion_mnist, load_mnist, load_movielens
from dlcourse.progress import progress
from dlcourse.repro import get_device, seed_everything

__all__ = ["cmp", "expect_close", "expect_equal", "rel_error", "load_mnist",
           "load_fashion_mnist", "load_movielens", "progress", "get_device", "seed_everything"]

"""Reproducibility and device choice, done once at the top of every lesson."""
from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int = 42) -> np.random.Generator:
    """Seed Python's, numpy's and torch's random number generators.

    Args:
        seed: the seed for all three.

    Returns:
        A fresh ``numpy.random.Generator`` seeded with ``seed``, for code that prefers an
        explicit generator to the global state.
    """
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def get_device():
    """The torch device to train on: the first GPU when there is one, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

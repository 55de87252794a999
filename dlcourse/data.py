"""Data sets of the course: find, verify and load MNIST, Fashion-MNIST and MovieLens 100k.

Every file is listed in ``data/manifest.toml`` with its canonical URL, size and sha256.
:func:`fetch` looks for a file in this order and uses the first copy that exists:

1. the cache, ``data/<dataset>/<file>`` (or ``$COURSE_DATA_DIR/<dataset>/<file>``);
2. a mirror folder with the same layout, named by ``$COURSE_DATA_MIRROR``;
3. the canonical URL, downloaded into the cache.

Whatever copy it finds must match the manifest's size and sha256; otherwise it stops with a
:class:`DataError` whose message says what to do. Nothing here is ever committed.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = ["DataError", "MNIST", "MovieLens", "fetch", "load_mnist", "load_fashion_mnist",
           "load_movielens", "manifest"]

REPO_DATA = Path(__file__).resolve().parent.parent / "data"
MANIFEST = REPO_DATA / "manifest.toml"
DOWNLOAD_TIMEOUT = 60  # seconds without data before a download is abandoned


class DataError(RuntimeError):
    """A data file is missing, unreachable or corrupt; the message says what to do."""


class MNIST(NamedTuple):
    """MNIST-style images split three ways.

    ``x_*`` are float32 arrays in [0, 1] of shape (n, 784), or (n, 28, 28) when loaded with
    ``flatten=False``; ``y_*`` are int64 labels of shape (n,).
    """
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class MovieLens(NamedTuple):
    """MovieLens 100k.

    ``ratings``: DataFrame with int columns ``user``, ``item``, ``rating`` (1..5) and
    ``timestamp`` (100,000 rows); ``titles``: Series of film titles indexed by ``item``.
    """
    ratings: pd.DataFrame
    titles: pd.Series


def manifest() -> dict:
    """The parsed ``data/manifest.toml``: ``{dataset: {"title", "license", "files": [...]}}``."""
    with open(MANIFEST, "rb") as f:
        return tomllib.load(f)


def cache_dir() -> Path:
    """Folder of the local cache: ``$COURSE_DATA_DIR`` if set, else the repository's ``data/``."""
    return Path(os.environ.get("COURSE_DATA_DIR") or REPO_DATA)


def _mirror_dir() -> Path | None:
    mirror = os.environ.get("COURSE_DATA_MIRROR")
    return Path(mirror) if mirror else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _matches(path: Path, entry: dict) -> bool:
    return path.stat().st_size == entry["size"] and _sha256(path) == entry["sha256"]


def _download(entry: dict, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(entry["url"], timeout=DOWNLOAD_TIMEOUT) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        if not _matches(Path(partial), entry):
            raise DataError(
                f"The download of {entry['url']} does not match the sha256 in {MANIFEST}: "
                f"try again later, or put a verified copy in {target}.")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def fetch(dataset: str) -> dict[str, Path]:
    """Make every file of ``dataset`` available locally and verified.

    Args:
        dataset: a section of the manifest: ``"mnist"``, ``"fashion-mnist"`` or ``"ml-100k"``.

    Returns:
        ``{file name: path}`` for every file of the data set, each checked against the
        manifest's size and sha256.

    Raises:
        DataError: a copy does not match the manifest, or the file is neither cached nor
            mirrored and cannot be downloaded. The message says what to do.
    """
    entries = manifest()
    if dataset not in entries:
        raise DataError(f"Unknown data set {dataset!r}: choose one of {sorted(entries)}.")
    mirror = _mirror_dir()
    paths = {}
    for entry in entries[dataset]["files"]:
        name = entry["name"]
        cached = cache_dir() / dataset / name
        mirrored = mirror / dataset / name if mirror else None
        if cached.exists():
            if not _matches(cached, entry):
                raise DataError(
                    f"The cached file {cached} does not match the sha256 in {MANIFEST}: "
                    "delete it and run again to fetch a fresh copy.")
            paths[name] = cached
        elif mirrored is not None and mirrored.exists():
            if not _matches(mirrored, entry):
                raise DataError(
                    f"The mirrored file {mirrored} does not match the sha256 in {MANIFEST}: "
                    f"replace it with the canonical download from {entry['url']}.")
            paths[name] = mirrored
        else:
            try:
                _download(entry, cached)
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                raise DataError(
                    f"Cannot download {entry['url']} ({reason}): connect to the internet, or "
                    f"set COURSE_DATA_MIRROR to a folder holding {dataset}/{name}"
                    f"{'' if mirror is None else f' (now {mirror}, which lacks it)'}.") from None
            paths[name] = cached
    return paths


def _read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes: delete it and run again.")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(dataset: str = "mnist", n_valid: int = 10_000, flatten: bool = True) -> MNIST:
    """Load MNIST (or Fashion-MNIST) as train / valid / test arrays.

    The validation set is the last ``n_valid`` of the 60,000 training images (the course
    trains on the first 50,000); the test set is the official 10,000.

    Args:
        dataset: ``"mnist"`` or ``"fashion-mnist"``.
        n_valid: how many training images to hold out for validation.
        flatten: images as rows of 784 pixels (True) or as 28x28 arrays (False).

    Returns:
        An :class:`MNIST` tuple of float32 images in [0, 1] and int64 labels.
    """
    files = fetch(dataset)
    x_train = _read_idx(files["train-images-idx3-ubyte.gz"])
    y_train = _read_idx(files["train-labels-idx1-ubyte.gz"]).astype(np.int64)
    x_test = _read_idx(files["t10k-images-idx3-ubyte.gz"])
    y_test = _read_idx(files["t10k-labels-idx1-ubyte.gz"]).astype(np.int64)

    def images(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32) / 255.0
        return x.reshape(len(x), -1) if flatten else x

    n_train = len(x_train) - n_valid
    return MNIST(images(x_train[:n_train]), y_train[:n_train],
                 images(x_train[n_train:]), y_train[n_train:],
                 images(x_test), y_test)


def load_fashion_mnist(n_valid: int = 10_000, flatten: bool = True) -> MNIST:
    """Fashion-MNIST with the same layout as :func:`load_mnist`."""
    return load_mnist("fashion-mnist", n_valid=n_valid, flatten=flatten)


def load_movielens() -> MovieLens:
    """Load the 100,000 ratings of MovieLens 100k and the film titles.

    Returns:
        A :class:`MovieLens` tuple ``(ratings, titles)``: ratings with int columns
        ``user`` (1..943), ``item`` (1..1682), ``rating`` (1..5), ``timestamp``, and the
        titles as a Series indexed by ``item`` (``u.item`` is Latin-1 text).
    """
    files = fetch("ml-100k")
    ratings = pd.read_csv(files["u.data"], sep="\t", header=None,
                          names=["user", "item", "rating", "timestamp"], dtype="int64")
    items = pd.read_csv(files["u.item"], sep="|", header=None, encoding="latin-1",
                        usecols=[0, 1], names=["item", "title"])
    return MovieLens(ratings, items.set_index("item")["title"])

"""dlcourse.data: cache, mirror and download paths, checksums, and what the loaders return."""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from dlcourse import data

MIRROR = os.environ.get("COURSE_DATA_MIRROR")
ORIGINAL_MANIFEST = data.manifest
needs_mirror = pytest.mark.skipif(not MIRROR, reason="set COURSE_DATA_MIRROR to a copy of the data sets")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(cache))
    return cache


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_manifest_lists_every_required_file_with_url_size_and_sha256():
    entries = data.manifest()
    names = {ds: {f["name"] for f in entries[ds]["files"]} for ds in entries}
    assert {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} <= names["mnist"]
    assert {"u.data", "u.item", "u.user", "u.genre", "README"} <= names["ml-100k"]
    for ds in entries:
        assert entries[ds]["license"]
        for f in entries[ds]["files"]:
            assert f["url"].startswith("http") and f["size"] > 0 and len(f["sha256"]) == 64


def test_no_data_file_is_tracked_by_git():
    import subprocess
    tracked = subprocess.run(["git", "ls-files", "data"], capture_output=True, text=True,
                             cwd=data.REPO_DATA.parent).stdout.split()
    assert tracked == ["data/manifest.toml"], tracked


@needs_mirror
def test_load_mnist_from_the_mirror_splits_and_scales(empty_cache, offline):
    mnist = data.load_mnist()
    assert mnist.x_train.shape == (50_000, 784) and mnist.x_valid.shape == (10_000, 784)
    assert mnist.x_test.shape == (10_000, 784) and mnist.y_test.shape == (10_000,)
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.int64
    assert 0.0 == mnist.x_train.min() and mnist.x_train.max() == 1.0
    assert set(np.unique(mnist.y_valid)) == set(range(10))
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9], "the canonical first labels of MNIST"
    assert not empty_cache.exists(), "a mirror is used in place, not copied"
    assert data.load_mnist(flatten=False).x_test.shape == (10_000, 28, 28)


@needs_mirror
def test_load_fashion_mnist(empty_cache, offline):
    fashion = data.load_fashion_mnist(n_valid=5_000)
    assert fashion.x_train.shape == (55_000, 784) and fashion.x_valid.shape == (5_000, 784)


@needs_mirror
def test_load_movielens_ratings_and_latin1_titles(empty_cache, offline):
    ratings, titles = data.load_movielens()
    assert ratings.shape == (100_000, 4) and list(ratings.columns) == ["user", "item", "rating", "timestamp"]
    assert ratings.user.nunique() == 943 and ratings.item.nunique() == 1682
    assert ratings.rating.between(1, 5).all()
    assert len(titles) == 1682 and titles[1] == "Toy Story (1995)"
    assert any("é" in t for t in titles), "u.item is decoded as Latin-1"


@needs_mirror
def test_cache_is_used_without_mirror_or_network(empty_cache, offline, monkeypatch):
    shutil.copytree(Path(MIRROR) / "mnist", empty_cache / "mnist")
    monkeypatch.delenv("COURSE_DATA_MIRROR")
    paths = data.fetch("mnist")
    assert all(p.parent == empty_cache / "mnist" for p in paths.values())


@needs_mirror
def test_corrupt_mirror_file_stops_with_what_to_do(tmp_path, empty_cache, offline, monkeypatch):
    mirror = tmp_path / "mirror"
    shutil.copytree(Path(MIRROR) / "ml-100k", mirror / "ml-100k")
    (mirror / "ml-100k" / "u.data").chmod(0o644)
    with open(mirror / "ml-100k" / "u.data", "r+b") as f:
        f.write(b"9")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(data.DataError, match="does not match the sha256.*replace it with the canonical download"):
        data.load_movielens()


@needs_mirror
def test_corrupt_cached_file_stops_with_what_to_do(empty_cache, offline):
    (empty_cache / "mnist").mkdir(parents=True)
    (empty_cache / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"truncated")
    with pytest.raises(data.DataError, match="cached file .* delete it and run again"):
        data.fetch("mnist")


def test_offline_without_mirror_says_what_to_do(empty_cache, offline, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    with pytest.raises(data.DataError) as error:
        data.load_mnist()
    message = str(error.value)
    assert "Cannot download https://" in message and "connect to the internet" in message
    assert "COURSE_DATA_MIRROR" in message and message.count(". ") == 0, "one sentence"
    assert not any(p.is_file() for p in empty_cache.rglob("*")), "no partial file is left behind"


@pytest.fixture
def local_server(tmp_path):
    """An HTTP server on loopback serving a folder, standing in for the canonical URLs."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _manifest_pointing_at(base: str) -> dict:
    entries = ORIGINAL_MANIFEST()
    for ds in entries.values():
        for f in ds["files"]:
            f["url"] = f"{base}/{f['name']}"
    return entries


@needs_mirror
def test_download_verifies_then_caches(local_server, empty_cache, monkeypatch):
    root, base = local_server
    for f in (Path(MIRROR) / "ml-100k").iterdir():
        shutil.copy(f, root / f.name)
    monkeypatch.delenv("COURSE_DATA_MIRROR")
    monkeypatch.setattr(data, "manifest", lambda: _manifest_pointing_at(base))
    ratings, _ = data.load_movielens()
    assert len(ratings) == 100_000
    assert (empty_cache / "ml-100k" / "u.data").exists()
    shutil.rmtree(root)
    assert len(data.load_movielens().ratings) == 100_000, "the second load reads the cache"


def test_download_with_wrong_checksum_is_refused_and_not_cached(local_server, empty_cache, monkeypatch):
    root, base = local_server
    for f in ORIGINAL_MANIFEST()["ml-100k"]["files"]:
        (root / f["name"]).write_bytes(b"x" * f["size"])
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setattr(data, "manifest", lambda: _manifest_pointing_at(base))
    with pytest.raises(data.DataError, match="download of .* does not match the sha256"):
        data.fetch("ml-100k")
    assert not any((empty_cache / "ml-100k").iterdir()), "nothing unverified stays in the cache"


def test_unknown_dataset():
    with pytest.raises(data.DataError, match="choose one of"):
        data.fetch("cifar10")

"""JupyterLab serves the lessons and runs them with the course's Python (what `make lab` starts)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.course import LESSONS, ROOT, lesson_ids

TOKEN = "course-test-token"
COURSE_SETTINGS = ROOT / "jupyter"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = TOKEN):
    headers = {"Authorization": f"token {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        return response.status, response.read()


def _post(url: str) -> dict:
    request = urllib.request.Request(url, data=b"{}", method="POST",
                                     headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextmanager
def start_lab(root: Path, runtime: Path, extra_env: dict[str, str] | None = None,
              settings: Path | None = COURSE_SETTINGS, python: Path = Path(sys.executable)):
    """Run JupyterLab on ``root`` (loopback, with a token), as `make lab` does; yields its base URL.

    ``settings`` is the course's Jupyter settings folder, which `make lab` names in
    ``JUPYTER_CONFIG_PATH`` (None: JupyterLab's own defaults). User settings and workspaces
    start empty, under ``runtime``, so nothing saved on this machine hides what the course
    ships. ``extra_env`` adds environment variables (e.g. ``COURSE_GRADED_DIR`` for the formgrader).
    ``python`` is the environment's interpreter (default: the one running the tests).
    """
    port = _free_port()
    # A student's environment: no test-suite settings (quiet progress bars, the Agg backend).
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DLCOURSE_QUIET", "JUPYTER_CONFIG_PATH")}
    env.update(JUPYTER_RUNTIME_DIR=str(runtime), JUPYTERLAB_SETTINGS_DIR=str(runtime / "user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(runtime / "workspaces"),
               PATH=f"{python.parent}{os.pathsep}{os.environ['PATH']}", **(extra_env or {}))
    if settings is not None:
        env["JUPYTER_CONFIG_PATH"] = str(settings)
    process = subprocess.Popen(
        [str(python), "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--ServerApp.token={TOKEN}", str(root)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                _get(f"{base}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    with start_lab(LESSONS, runtime) as base:
        yield base, runtime


@pytest.mark.slow
@pytest.mark.parametrize("lesson", lesson_ids())
def test_lab_serves_each_lesson_notebook(lab, lesson):
    lab, _ = lab
    status, body = _get(f"{lab}/api/contents/{lesson}/{lesson}.ipynb")
    assert status == 200 and json.loads(body)["type"] == "notebook"
    status, page = _get(f"{lab}/lab/tree/{lesson}/{lesson}.ipynb")
    assert status == 200 and b"JupyterLab" in page


@pytest.mark.slow
def test_lab_refuses_requests_without_the_token(lab):
    lab, _ = lab
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(f"{lab}/api/contents/{lesson_ids()[0]}", token=None)
    assert error.value.code == 403


@pytest.mark.slow
def test_lab_kernel_runs_in_the_course_environment(lab):
    from jupyter_client import BlockingKernelClient

    base, runtime = lab
    kernel = _post(f"{base}/api/kernels")
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    outputs: list = []
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("import sys, dlcourse; print(sys.prefix)", timeout=60,
                                           output_hook=lambda msg: outputs.append(msg))
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", "dlcourse imports in the lab's kernel"
    printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    assert printed.strip() == sys.prefix, "the kernel runs in the course's virtual environment"

"""dlcourse.policy: guards see a forbidden routine however the student's code reaches it, and only then."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from dlcourse.observe import MIME
from dlcourse.policy import guard_test_cell
from tests.support.notebooks import kernel_env

FORBIDDEN = ["torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax", "torch.nn.Softmax",
             "numpy.geomspace"]
SETUP = ("from dlcourse.policy import install, open_window, report_window\n"
         f"install({FORBIDDEN!r})")
# Answers that all compute a softmax; each reaches the built-in another way (or not at all).
ROUTES = {
    "by_hand": "def answer(z):\n    e = torch.exp(z - z.max(-1, keepdim=True).values)\n    return e / e.sum(-1, keepdim=True)",
    "direct": "def answer(z):\n    return torch.softmax(z, -1)",
    "alias_bound_early": "sm = torch.softmax\ndef answer(z):\n    return sm(z, -1)",
    "getattr_computed_name": "def answer(z):\n    return getattr(torch, 'soft' + 'max')(z, -1)",
    "tensor_method": "def answer(z):\n    return z.softmax(-1)",
    "functional": "import torch.nn.functional as F\ndef answer(z):\n    return F.softmax(z, dim=-1)",
    "module_class": "def answer(z):\n    return torch.nn.Softmax(dim=-1)(z)",
    "import_inside": "def answer(z):\n    from torch import softmax as s\n    return s(z, -1)",
    "from_import_before": "from torch.nn.functional import softmax as smx\ndef answer(z):\n    return smx(z, -1)",
    "exec_defined": "exec('def answer(z):\\n    return torch.softmax(z, -1)')",
    "helper_cell": "def _helper(z):\n    return z.softmax(-1)\ndef answer(z):\n    return _helper(z)",
    "numpy_route": "def answer(z):\n    np.geomspace(1, 2, 3)\n    return torch.exp(z) / torch.exp(z).sum(-1, keepdim=True)",
    # a worker thread's stack holds library frames only
    "worker_thread": "from concurrent.futures import ThreadPoolExecutor\n_pool = ThreadPoolExecutor(1)\n"
                     "def answer(z):\n    return _pool.submit(torch.softmax, z, -1).result()",
    # code compiled under the running test cell's file name is still not the test cell's code
    "compiled_under_the_test_cells_file_name":
        "import sys\ndef answer(z):\n    frame = sys._getframe(1)\n"
        "    while frame.f_code.co_name != '<module>':\n        frame = frame.f_back\n"
        "    return eval(compile('torch.softmax(z, -1)', frame.f_code.co_filename, 'eval'), {'torch': torch, 'z': z})",
}
TEST = ("z = torch.randn(3, 4, dtype=torch.float64)\n"
        "inputs = torch.softmax(z, -1)   # the test's own use of the routine is not the student's\n"
        "def _oracle(x):\n    return x.softmax(-1)\n"
        "result = answer(z)\nreference = _oracle(z)")


def _policy_reports(routes: dict[str, str], window: tuple[str, ...]) -> dict[str, list]:
    """Run each route's answer then the guarded test in one kernel; the policy report per route."""
    cells = [nbformat.v4.new_code_cell("import numpy as np, torch\n" + SETUP)]
    for source in routes.values():
        cells += [nbformat.v4.new_code_cell(source),
                  nbformat.v4.new_code_cell(guard_test_cell(TEST, window, "open_window", "report_window"))]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute(env=kernel_env())
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    reports = {}
    for name, test in zip(routes, nb.cells[2::2]):
        found = [o.data[MIME] for o in test.outputs if o.output_type == "display_data" and MIME in o.data]
        assert len(found) == 1, (name, test.outputs)
        reports[name] = found[0]["calls"]
    return reports


@pytest.fixture(scope="module")
def reports():
    return _policy_reports(ROUTES, tuple(FORBIDDEN))


def test_an_answer_written_by_hand_calls_nothing_forbidden(reports):
    assert reports["by_hand"] == []


@pytest.mark.parametrize("route", sorted(set(ROUTES) - {"by_hand", "numpy_route"}))
def test_every_route_to_the_built_in_is_seen(reports, route):
    assert reports[route], f"{route}: the forbidden call went unseen"
    assert set(reports[route]) <= set(FORBIDDEN)


def test_routines_outside_torch_are_guarded_too(reports):
    assert reports["numpy_route"] == ["numpy.geomspace"]


def test_only_the_windows_names_are_recorded():
    assert _policy_reports({"direct": ROUTES["direct"]}, ("numpy.geomspace",)) == {"direct": []}


def test_guarded_routines_still_work_and_classes_keep_their_identity():
    source = ("import torch\nfrom dlcourse.policy import install\n"
              f"install({FORBIDDEN!r})\n"
              "z = torch.tensor([[1.0, 2.0]])\n"
              "class Mine(torch.nn.Softmax):\n    pass\n"
              "print(json.dumps([torch.allclose(torch.softmax(z, -1), z.softmax(-1)), "
              "isinstance(Mine(dim=-1), torch.nn.Softmax), torch.softmax.__name__]))")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import json\n" + source)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=kernel_env())
    assert json.loads(nb.cells[0].outputs[0].text) == [True, True, "softmax"]

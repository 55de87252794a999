"""The pieces of judging: rewriting test cells, the wire format, the plan of cells, the verdicts."""
from __future__ import annotations

import ast
import random
import time

import numpy as np
import pytest

from dlcourse.checks import as_data, type_signature
from dlcourse.observe import decode, decode_type, encode
from dlcourse.plan import _late_reads, _names, cells_to_run
from grader.course import CourseError, lesson_ids
from grader.execute import CellRun
from grader.judge import NOT_DONE, RAISED, REASONS, judge
from grader.lesson import TestCell, load_lesson
from grader.rewrite import OBSERVE, rewrite_test_cell


def test_checks_become_observations_without_the_oracle():
    cell = rewrite_test_cell(
        "from dlcourse import expect_close\nfor s in range(3):\n"
        "    expect_close(f(s), torch.softmax(t, -1).numpy(), rtol=1e-9, name=f'seed {s}')\n"
        "expect_equal(g().shape, (2, 3))")
    assert "torch.softmax" not in cell.source and "(2, 3)" not in cell.source
    assert f"{OBSERVE}(0, f(s), f'seed {{s}}')" in cell.source and f"{OBSERVE}(1, g().shape, None)" in cell.source
    assert [s.kind for s in cell.specs] == ["expect_close", "expect_equal"]
    assert cell.specs[0].compare_options() == {"rtol": 1e-9, "exact": False}
    assert cell.specs[1].compare_options() == {"exact": True}


@pytest.mark.parametrize("source, words", [
    ("assert f(1) == 2", "bare assert"),
    ("expect_close(f(1), 2, rtol=tol)", "must be a literal"),
    ("expect_close(f(1), 2, 1e-3)", "takes (actual, expected)"),
    ("expect_close(f(1), 2, decimals=3)", "no option"),
    ("print(f(1))", "at least one"),
    ("expect_close(f(1)", "not valid Python"),
])
def test_test_cells_the_grader_could_not_judge_are_refused(source, words):
    with pytest.raises(CourseError, match=words.replace("(", r"\(").replace(")", r"\)")):
        rewrite_test_cell(source)


@pytest.mark.parametrize("lesson", lesson_ids())
def test_every_lessons_test_cells_can_be_judged(lesson):
    for notebook in load_lesson(lesson):
        assert notebook.tests and all(t.specs for t in notebook.tests)


@pytest.mark.parametrize("value", [np.arange(6.0).reshape(2, 3), np.float32(1.5), 3, True, "relu", None,
                                   [np.zeros(2), np.ones(3)], {"m": np.ones(2), "step": 4},
                                   np.array([np.nan, np.inf]), np.arange(4, dtype=np.int16)])
def test_wire_format_round_trips(value):
    from dlcourse.checks import as_data, compare

    assert compare(decode(encode(value)), as_data(value), exact=True, check_dtype=True) is None


@pytest.mark.parametrize("payload", [
    {"ndarray": {"dtype": "object", "shape": [1], "b64": ""}},
    {"ndarray": {"dtype": "float64", "shape": [2], "b64": "AAAA"}},
    {"ndarray": {"dtype": "float64", "shape": [-1], "b64": ""}},
    {"pickle": "gASV"}, {"list": [1, 2]}, 42, {"a": 1, "b": 2},
    {"ndarray": {"dtype": "float64", "shape": [2 ** 64], "b64": ""}},      # beyond int64
    {"ndarray": {"dtype": "float64", "shape": [0, 2 ** 63], "b64": ""}},
    {"ndarray": {"dtype": "float64", "shape": [1] * 33, "b64": "AAAAAAAAAAA="}},
])
def test_malformed_reports_are_refused(payload):
    with pytest.raises(ValueError):
        decode(payload)


def test_plan_runs_what_grading_needs_and_skips_demonstrations():
    sources = ["import numpy as np", "data = np.load('big.npy')\nmodel = train(data)",
               "CLASSES = ['cat', 'dog']", "def f(x):\n    return CLASSES[x]", "plot(model)", "%timeit f(0)",
               "expect_equal(f(0), 'cat')"]
    required = [True, False, False, True, False, False, True]
    assert cells_to_run(sources, required) == [True, False, True, True, False, False, True]
    chained = ["import numpy as np", "a = 1", "b = a + 1", "def f():\n    return b"]
    assert cells_to_run(chained, [True, False, False, True]) == [True, True, True, True]
    mutated = ["x = {}", "x['k'] = 1", "def f():\n    return x"]
    assert cells_to_run(mutated, [False, False, True]) == [True, True, True]
    # a test that builds its own x does not need the lesson's x; a function's locals are not globals
    scoped = ["x = big_training_run()", "def train(model):\n    x = 1\n    return model(x)",
              "x = rng.normal()\nexpect_close(f(x), 1.0)", "for seed in range(3):\n    y = seed\n    g(y)"]
    assert cells_to_run(scoped, [False, False, True, True]) == [False, False, True, True]


def _fixpoint_plan(sources: list[str], required: list[bool]) -> list[bool]:
    """The plan as first written (a fixpoint over every pair of cells, quadratic or worse): the oracle."""
    run, parsed = list(required), [_names(s) for s in sources]
    changed = True
    while changed:
        changed = False
        for i, needed in enumerate(run):
            if needed:
                for j in range(i):
                    _, assigned, ok = parsed[j]
                    if not run[j] and (not ok or "*" in assigned or assigned & parsed[i][0]):
                        run[j] = changed = True
                last = max(k for k, r in enumerate(run) if r)
                for j in range(i + 1, last):
                    _, assigned, ok = parsed[j]
                    if not run[j] and ok and assigned & _late_reads(sources[i]):
                        run[j] = changed = True
    return run


def test_a_helper_below_the_function_that_calls_it_runs():
    sources = ["import numpy as np", "def softmax(z):\n    return helper(z)", "def helper(z):\n    return z",
               "training = 1", "assert softmax(1) == 1"]
    assert cells_to_run(sources, [True, True, False, False, True]) == [True, True, True, False, True]


def test_the_linear_plan_matches_the_fixpoint_on_random_notebooks():
    rng = random.Random(15)
    pieces = ["a = 1", "b = a + 1", "c = b * a", "print(c)", "from m import *", "def f():\n    return b",
              "x = (", "%time d = c", "a += 1", "for a in range(2):\n    b = a", "import os", "os.getcwd()",
              "e = f()", "d = {k: a for k in range(3)}", "class K:\n    z = c"]
    for _ in range(300):
        sources = ["\n".join(rng.sample(pieces, rng.randint(1, 3))) for _ in range(rng.randint(1, 12))]
        required = [rng.random() < 0.3 for _ in sources]
        assert cells_to_run(sources, required) == _fixpoint_plan(sources, required), (sources, required)


def test_plain_python_reads_the_same_without_ipythons_transforms():
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    for lesson in lesson_ids():
        for notebook in load_lesson(lesson):
            for cell in notebook.read().cells:
                if cell.cell_type == "code":
                    try:
                        direct = ast.dump(ast.parse(cell.source))
                    except SyntaxError:
                        continue
                    assert direct == ast.dump(ast.parse(transform(cell.source))), cell.source[:200]


def test_planning_a_20000_cell_notebook_takes_linear_time():
    from grader.bench import planning_notebook

    seconds = {}
    for n in (2_000, 20_000):
        sources, required = planning_notebook(n)
        _names.cache_clear()
        started = time.perf_counter()
        plan = cells_to_run(sources, required)
        seconds[n] = time.perf_counter() - started
        assert all(plan[:-1]) and not plan[-1], "every lesson cell but the last is read by the student's cell after it"
    print(f"planning 2,000 cells: {seconds[2_000]:.2f} s; 20,000 cells: {seconds[20_000]:.2f} s")
    assert seconds[20_000] < 30 * seconds[2_000], "ten times the cells, about ten times the time (quadratic: 100)"


TEST = TestCell("ex_test", 2.0, True, "src", "rewritten",
                rewrite_test_cell("expect_close(f(1), 1.0)\nexpect_close(f(2), 2.0, rtol=1e-3, name='two')").specs)
VISIBLE = TestCell("ex_visible", 2.0, False, "src", "rewritten", TEST.specs)


def _report(site, name, value):
    """A check's report as dlcourse.observe sends it: the value and its type signature."""
    return {"site": site, "name": name, "value": encode(value), "type": type_signature(value)}


REFERENCE = [_report(0, None, 1.0), _report(1, "two", 2.0)]


def _run(*reports, status="ok", error=None, calls=(), policy=True):
    """A test cell's run: its check reports, then the policy report every test cell ends with."""
    return CellRun(0, status, error, [], list(reports) + ([{"site": "policy", "calls": list(calls)}] if policy else []))


def test_verdicts():
    ok = judge(TEST, REFERENCE, _run(*REFERENCE))
    assert (ok.score, ok.status) == (2.0, "ok")
    close = dict(REFERENCE[1], value=encode(2.001))
    assert judge(TEST, REFERENCE, _run(REFERENCE[0], close)).status == "ok", "the test's own tolerance applies"
    wrong = judge(TEST, REFERENCE, _run(REFERENCE[0], dict(REFERENCE[1], value=encode(2.5))))
    assert (wrong.score, wrong.status) == (0.0, "failed")
    assert wrong.message == f"check 2 of 2 (two): {REASONS['values']}", "hidden values stay hidden"
    raised = judge(VISIBLE, REFERENCE, _run(REFERENCE[0], error="ValueError: bad shape"))
    assert raised.status == "failed" and "ValueError: bad shape (after 1 of 2 checks passed)" in raised.message
    hidden = judge(TEST, REFERENCE, _run(REFERENCE[0], error="ValueError: for seed in range(6):"))
    assert hidden.message == f"check 2 of 2 (two): {RAISED} (after 1 of 2 checks passed)", \
        "a hidden test never shows the kernel's exception"
    assert judge(TEST, REFERENCE, _run(REFERENCE[0])).status == "tampered", "a missing report without an error"
    assert judge(TEST, REFERENCE, _run(*REFERENCE, REFERENCE[0])).status == "tampered", "an extra report"
    assert judge(TEST, REFERENCE, _run(REFERENCE[1], REFERENCE[0])).status == "tampered", "reports out of order"
    forged = dict(REFERENCE[0], value={"pickle": "gASV"})
    assert judge(TEST, REFERENCE, _run(forged, REFERENCE[1])).status == "tampered"
    assert judge(TEST, REFERENCE, _run(status="timeout", error="too slow")).status == "timeout"
    assert judge(TEST, REFERENCE, _run(status="memory", error="too big")).status == "error"
    assert judge(TEST, REFERENCE, None).status == "error"
    todo = judge(TEST, REFERENCE, _run(error="NotImplementedError: "))
    assert todo.message == f"check 1 of 2: {NOT_DONE}"


def test_hidden_checks_and_checks_after_them_are_described_in_fixed_words():
    """Shapes, keys, types, differences, exception texts and type names of a hidden check stay out."""
    def verdict(value, test=TEST, **options):
        return judge(test, REFERENCE, _run(_report(0, None, value), REFERENCE[1]), **options).message

    assert verdict(np.zeros((3, 7))) == f"check 1 of 2: {REASONS['shape']}"
    assert verdict({"probe": 1.0}) == f"check 1 of 2: {REASONS['type']}"
    assert verdict(np.nan) == f"check 1 of 2: {REASONS['nonfinite']}"
    assert verdict(1.5) == f"check 1 of 2: {REASONS['values']}"
    assert verdict(1.5, VISIBLE).startswith("check 1 of 2: the value differs; max abs diff 0.5"), "visible: in full"
    assert verdict(1.5, VISIBLE, detailed=False) == f"check 1 of 2: {REASONS['values']}", \
        "a visible check after a hidden test is judged without details"
    typed = {"site": 0, "name": None, "value": encode(1.5), "error": "a result of type for_seed_in_range cannot be"}
    assert judge(TEST, REFERENCE, _run(typed)).message == f"check 1 of 2: {REASONS['type']}"
    undefined = _run(error="NameError: name 'softmax' is not defined")
    assert judge(TEST, REFERENCE, undefined, public_names=frozenset({"softmax"})).message == \
        "check 1 of 2: raised NameError: name 'softmax' is not defined", "a name the lesson defines is public"
    secret_name = _run(error="NameError: name '_autograd_ce_grad' is not defined")
    assert judge(TEST, REFERENCE, secret_name, public_names=frozenset({"softmax"})).message == f"check 1 of 2: {RAISED}"
    many = judge(TEST, REFERENCE, _run(*REFERENCE, *[REFERENCE[0]] * 1234))
    assert many.status == "tampered" and "1234" not in many.message and "1236" not in many.message


def test_types_are_judged_as_the_reference_returned_them():
    as_list = _report(0, None, [1.0])
    assert judge(TEST, REFERENCE, _run(_report(0, None, np.float32(1.0)), REFERENCE[1])).status == "ok", \
        "a numpy scalar is a float"
    wrong_type = judge(VISIBLE, REFERENCE, _run(_report(0, None, 1), REFERENCE[1]))
    assert wrong_type.status == "failed" and "got an int, expected a float" in wrong_type.message
    assert judge(TEST, REFERENCE, _run(_report(0, None, 1), REFERENCE[1])).message == \
        f"check 1 of 2: {REASONS['type']}"
    counts = TestCell("ex_count", 1.0, False, "src", "rewritten", rewrite_test_cell("expect_equal(n(), 782)").specs)
    reference = [_report(0, None, 782)]
    assert judge(counts, reference, _run(_report(0, None, 782))).status == "ok"
    assert "got a float, expected an int" in judge(counts, reference, _run(_report(0, None, 782.0))).message
    arrays = TestCell("ex_arr", 1.0, False, "src", "rewritten", rewrite_test_cell("expect_close(p(), q)").specs)
    reference = [_report(0, None, np.array([0.5, 0.5]))]
    listed = judge(arrays, reference, _run(_report(0, None, [0.5, 0.5])))
    assert listed.status == "failed" and "got a list, expected a numpy array" in listed.message
    lenient = TestCell("ex_any", 1.0, False, "src", "rewritten",
                       rewrite_test_cell("expect_close(p(), q, check_type=False)").specs)
    assert judge(lenient, reference, _run(_report(0, None, [0.5, 0.5]))).status == "ok", "check_type=False opts out"
    untyped = {k: v for k, v in as_list.items() if k != "type"}
    assert judge(arrays, reference, _run(dict(untyped, value=encode(np.array([0.5, 0.5]))))).status == "tampered"


@pytest.mark.parametrize("payload", [None, 3, "x" * 101, {"list": [1]}, {"set": []}, {"list": {"each": "int"}},
                                     {"list": {"each": "int", "n": True}}, {"list": [], "tuple": []},
                                     {"tuple": {"each": "int", "n": 1}}, {"dict": {"a": {"b": 1}}}])
def test_malformed_type_signatures_are_refused(payload):
    with pytest.raises(ValueError):
        decode_type(payload)


def test_deep_or_huge_forged_type_signatures_cost_nothing():
    deep = "float"
    for _ in range(50):
        deep = {"list": [deep]}
    with pytest.raises(ValueError, match="deeply"):
        decode_type(deep)
    huge = {"list": {"each": "float", "n": 10**9}}
    assert decode_type(huge) == huge
    from dlcourse.checks import compare_types
    assert compare_types(huge, type_signature([1.0, 2.0])) is None, "compared item by item, never expanded"


@pytest.mark.parametrize("source, value", [
    ("0.5", 0.5), ("-2", -2), ("(2, 3)", (2, 3)), ("[1, 'a', None]", [1, "a", None]), ("0.5 * (1 + 4 + 9)", 7.0),
    ("np.zeros(2)", np.zeros(2)), ("np.array([[0.5, 0.5]], dtype=np.float32)", np.array([[0.5, 0.5]], np.float32)),
    ("np.ones((2, 3))", np.ones((2, 3))), ("{'m': 0.0}", {"m": 0.0}),
])
def test_literal_expectations_are_kept(source, value):
    from dlcourse.checks import compare as compare_data
    from grader.rewrite import literal_expectation

    literal = literal_expectation(ast.parse(source, mode="eval").body)
    assert compare_data(as_data(literal), as_data(value), exact=True, check_dtype=True) is None
    assert type_signature(literal) == type_signature(value)


@pytest.mark.parametrize("source", ["np.log(4.0)", "softmax(z)", "torch.zeros(2)", "x", "np.zeros(n)",
                                    "np.zeros(2, dtype=object)", "f'{x}'", "[x for x in y]", "{**d}"])
def test_computed_expectations_are_not_literals(source):
    from grader.rewrite import NOT_A_LITERAL, literal_expectation

    assert literal_expectation(ast.parse(source, mode="eval").body) is NOT_A_LITERAL


def test_a_visible_check_against_a_literal_shows_the_literal_not_the_references_rounding():
    visible = TestCell("ex_visible", 1.0, False, "src", "rewritten",
                       rewrite_test_cell("expect_close(g().sum(axis=1), np.zeros(2), atol=1e-12)").specs)
    reference = [_report(0, None, np.array([-1.39e-17, 2.2e-17]))]
    verdict = judge(visible, reference, _run(_report(0, None, np.array([0.5, 0.0]))))
    assert verdict.status == "failed" and "expected 0.0" in verdict.message and "e-17" not in verdict.message
    assert judge(visible, reference, _run(_report(0, None, np.array([1e-13, 0.0])))).status == "ok"
    hidden = TestCell("ex_hidden", 1.0, True, "src", "rewritten", visible.specs)
    assert judge(hidden, reference, _run(_report(0, None, np.array([1e-13, 0.0])))).status == "ok", \
        "hidden checks are judged against the reference"


def test_a_forbidden_call_scores_zero_and_only_the_policys_own_names_are_echoed():
    guarded = TestCell("ex_guarded", 2.0, True, "src", "rewritten", TEST.specs, ("torch.softmax", "torch.Tensor.softmax"))
    assert judge(guarded, REFERENCE, _run(*REFERENCE)).status == "ok"
    caught = judge(guarded, REFERENCE, _run(*REFERENCE, calls=["torch.Tensor.softmax", "<script>alert(1)</script>"]))
    assert (caught.score, caught.status) == (0.0, "forbidden")
    assert "torch.Tensor.softmax" in caught.message and "script" not in caught.message
    assert judge(guarded, REFERENCE, _run(*REFERENCE, calls=["torch.nn.functional.softmax"])).status == "ok", \
        "only what this exercise forbids counts"
    for broken in (_run(*REFERENCE, policy=False), CellRun(0, "ok", None, [], [*REFERENCE, {"site": "policy"}]),
                   _run(*REFERENCE, {"site": "policy", "calls": []})):
        assert judge(guarded, REFERENCE, broken).status == "tampered"

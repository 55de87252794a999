"""No attack in the corpus scores more than the same wrong answers without it, none leaks a secret
into what the grader writes for it, and honest work in the same batch keeps full marks."""
from __future__ import annotations

import csv
import http.server
import resource
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from dlcourse.policy import POLICY_SITE
from grader.judge import MISMATCH, NOT_DONE, RAISED, REASONS
from grader.processes import processes_of
from grader.sandbox import UID_RANGE
from tests.grader.attacks import (ATTACKS, BEACON_PORT, CARRIER, GOALS, GRADER_SECRET, LEAKS, LESSON, WRONG,
                                  FolderAttack)
from tests.support import leaks, notebooks as nbs
from tests.support.grading import TEST_LIMITS, grade_batch, total
from tests.support.submissions import answered, write_submissions


def _attacked(code: str):
    return answered(LESSON, {**WRONG, CARRIER: WRONG[CARRIER] + "\n" + code})


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    entries = {"honest_1": answered(LESSON), "wrong_baseline": answered(LESSON, WRONG)}
    entries.update({f"attack_{name}": _attacked(code) for name, code in ATTACKS.items()})
    entries["honest_2"] = answered(LESSON)
    submissions = write_submissions(root / "submissions", LESSON, entries)
    for name, code in ATTACKS.items():
        if isinstance(code, FolderAttack):
            code.arrange(submissions / f"attack_{name}" / LESSON, root)
    rows = grade_batch(root, LESSON, {})
    csv_before = (root / "graded" / "grades.csv").read_bytes()
    return root, rows, csv_before


def test_the_corpus_is_large_enough_and_covers_every_goal():
    assert len(ATTACKS) >= 45
    assert all(GOALS[goal] for goal in ("points", "leaks", "integrity")), "every goal this half defends has attacks"


@pytest.mark.slow
def test_honest_submissions_in_the_same_batch_keep_full_marks(batch):
    _, rows, _ = batch
    for student in ("honest_1", "honest_2"):
        assert all(r.status == "ok" and r.score == r.max_score for r in rows[student]), student


@pytest.mark.slow
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_scores_no_more_than_the_wrong_answers(batch, attack):
    _, rows, _ = batch
    baseline = total(rows["wrong_baseline"])
    attacked = rows[f"attack_{attack}"]
    assert len(attacked) == len(rows["wrong_baseline"]), "every test cell has its row"
    assert total(attacked) <= baseline, [(r.exercise, r.status, r.message) for r in attacked if r.score]


@pytest.mark.slow
def test_wrong_baseline_really_loses_points(batch):
    _, rows, _ = batch
    baseline = rows["wrong_baseline"]
    assert 0 < total(baseline) < sum(r.max_score for r in baseline)


@pytest.fixture(scope="module")
def secrets(batch):
    root = batch[0]
    hidden = {t.grade_id for t in _tests() if t.hidden}
    reference = next((root / "graded" / "reference").glob(f"{LESSON}--*.json"))
    return leaks.secret_lines(LESSON), leaks.hidden_expected_values(reference, hidden)


def _tests():
    from grader.lesson import load_lesson

    return load_lesson(LESSON)[0].tests


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted([f"attack_{a}" for a in ATTACKS] + ["honest_1", "wrong_baseline"]))
def test_nothing_secret_reaches_the_feedback_the_rows_or_the_autograded_notebook(batch, secrets, student):
    root, _, _ = batch
    lines, values = secrets
    written = leaks.written_for(root / "graded", root / "submissions", student, LESSON)
    assert written.feedback and written.csv_rows, "the student has a page and rows"
    assert not leaks.leaks(written, lines, values, (GRADER_SECRET,))


def _allowed_hidden_messages(reference_path) -> dict[str, set[str]]:
    """Every message a hidden test's row may carry, built from the test's check names and the fixed reasons."""
    import json

    reasons = set(REASONS.values()) | {RAISED, NOT_DONE, MISMATCH} | {
        f"raised NameError: name '{name}' is not defined"
        for name in ("softmax", "log_softmax", "nll_loss", "cross_entropy", "cross_entropy_grad")}
    allowed = {}
    reference = json.loads(reference_path.read_text())
    for test in _tests():
        if not test.hidden:
            continue
        names = [r.get("name") for r in reference[test.grade_id]
                 if r.get("site") != POLICY_SITE]   # the policy report is no check
        total_checks = len(names)
        messages = {""}
        for i, name in enumerate(names):
            label = f"check {i + 1} of {total_checks}" + (f" ({name})" if name else "")
            for reason in reasons:
                messages.add(f"{label}: {reason}")
                messages.add(f"{label}: {reason} (after {i} of {total_checks} checks passed)")
            messages.add(f"{label}: the reports of the checks were forged or out of order")
            messages.add(f"{label}: the report is malformed")
            messages.add(f"the test cell reported {i} of its {total_checks} checks and raised nothing: "
                         "the grader's check was replaced or bypassed")
        messages |= {f"after its checks, the test cell {r}" for r in reasons}
        messages |= {f"the answer calls {name}, which this exercise must not use (see its 'Not allowed' line)"
                     for name in test.forbidden}      # names the lesson shows
        messages.add(f"the test cell reported more checks than its {total_checks}")
        messages.add("the test cell's policy report is missing or malformed: "
                     "the grader's check was replaced or bypassed")
        allowed[test.grade_id] = messages
    return allowed


@pytest.mark.slow
def test_hidden_checks_are_described_only_in_fixed_words(batch):
    """No shape, key, length, difference, exception text or type name of a hidden check in any row."""
    root, rows, _ = batch
    allowed = _allowed_hidden_messages(next((root / "graded" / "reference").glob(f"{LESSON}--*.json")))
    grader_made = ("the cell ran longer than", "the notebook ran longer than", "the kernel died",
                   "the kernel could not be", "the notebook used more than", "the test cell was not run")
    for student, student_rows in rows.items():
        for row in student_rows:
            if row.exercise not in allowed or row.status in ("invalid", "missing"):
                continue
            message = row.message.split("; also ")[0]
            if message.startswith("passed, but ") or message.startswith(grader_made):
                continue
            assert message in allowed[row.exercise], (student, row.exercise, row.message)


@pytest.mark.slow
@pytest.mark.parametrize("attack", sorted(LEAKS))
def test_no_output_after_the_first_hidden_test_is_kept(batch, attack):
    root, _, _ = batch
    path = root / "graded" / "autograded" / f"attack_{attack}" / LESSON / f"{LESSON}.ipynb"
    if not path.exists():
        return      # refused before it ran (a folder attack): nothing ran, nothing to keep
    cells = nbformat.read(path, as_version=4).cells
    first_hidden = next(i for i, c in enumerate(cells) if nbs.is_hidden_test(c))
    later = [i for i, c in enumerate(cells[first_hidden + 1:], first_hidden + 1)
             if c.cell_type == "code" and not nbs.is_test(c) and c.outputs]
    assert not later, f"cells {later} kept outputs produced after a hidden test ran"


@pytest.mark.slow
@pytest.mark.parametrize("attack", [a for a, code in ATTACKS.items() if isinstance(code, FolderAttack)])
def test_links_pipes_and_devices_are_refused_as_invalid(batch, attack):
    _, rows, _ = batch
    attacked = rows[f"attack_{attack}"]
    assert all(r.status == "invalid" and r.score == 0 for r in attacked), attack
    assert any(word in attacked[0].message for word in ("symbolic link", "named pipe", "device")), attacked[0].message


@pytest.mark.slow
def test_no_field_of_grades_csv_starts_like_a_formula(batch):
    root, rows, _ = batch
    with open(root / "graded" / "grades.csv", newline="", encoding="utf-8") as f:
        fields = [value for row in csv.reader(f) for value in row]
    assert not [v for v in fields if v.startswith(("=", "+", "-", "@", "\t", "\r"))]
    attacked = rows["attack_formula_in_the_message_column"]
    assert attacked[0].message.startswith("check 1 of "), "messages start with the grader's own words"


@pytest.mark.slow
def test_interference_is_reported_as_tampering(batch):
    _, rows, _ = batch
    for attack in ("input_transformer_blanks_tests", "ast_transformer_drops_checks", "observe_replaced_by_silence",
                   "forged_reports_published", "display_publisher_muted"):
        assert any(r.status == "tampered" for r in rows[f"attack_{attack}"]), attack


class _Beacon(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        _Beacon.requests.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def beacon():
    """A local server the hostile outputs try to load from; yields the paths it was asked for."""
    _Beacon.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", BEACON_PORT), _Beacon)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield _Beacon.requests
    finally:
        server.shutdown()
        server.server_close()


def open_in_chromium(path, seconds: float = 2.0) -> tuple[str, str]:
    """Open a page from disk in headless Chromium; its title and body text after ``seconds``."""
    from tests.support.browser import chromium_page

    with chromium_page() as page:
        page.goto(path.as_uri())
        page.wait_for_timeout(seconds * 1000)
        return page.title(), page.inner_text("body")


@pytest.mark.slow
def test_hostile_outputs_run_nothing_in_the_instructors_browser(batch, beacon):
    root, _, _ = batch
    page = root / "graded" / "feedback" / "attack_scripts_in_rich_outputs" / LESSON / f"{LESSON}.html"
    title, text = open_in_chromium(page)
    assert title != "pwned" and not beacon, (title, beacon)
    assert "Your results" in text, "the page still shows the results"


def _ours(pid: int) -> bool:
    """Whether a process was started by this checkout's grader (its environment names this Python):
    other checkouts on the same machine lease the same sandbox uids."""
    try:
        return any(sys.prefix.encode() in (Path("/proc") / str(pid) / name).read_bytes()
                   for name in ("environ", "cmdline"))
    except OSError:
        return False


@pytest.mark.slow
def test_nothing_outlives_the_batch_or_edits_its_results(batch):
    root, _, csv_before = batch
    time.sleep(10)  # longer than the forked attacker waits before writing
    assert not [pid for uid in UID_RANGE[:8] for pid in processes_of(uid) if _ours(pid)], \
        "every sandbox process is gone"
    assert (root / "graded" / "grades.csv").read_bytes() == csv_before
    assert "attacker" not in (root / "graded" / "grades.csv").read_text()
    html = root / "graded" / "feedback" / "attack_forked_process_edits_results_later" / LESSON / f"{LESSON}.html"
    assert html.read_text().startswith("<!DOCTYPE html>"), "the feedback page was not overwritten"


@pytest.mark.slow
def test_the_graders_own_memory_stays_below_what_one_kernel_may_use(batch):
    """What a kernel sends is read within bounds: no submission makes the grader's process (this one)
    hold more than the memory limit of the submission's own sandbox."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mb < TEST_LIMITS["memory_mb"], f"the grader's process peaked at {peak_mb:.0f} MB"


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted([f"attack_{a}" for a in ATTACKS if not isinstance(ATTACKS[a], FolderAttack)]))
def test_no_feedback_page_takes_longer_to_write_than_a_cell_may_run(batch, student):
    """The grader writes a submission's autograded notebook, then its feedback page: the time between
    the two is the grader's own work on what the student sent, which no limit of the sandbox bounds."""
    root, _, _ = batch
    autograded = root / "graded" / "autograded" / student / LESSON / f"{LESSON}.ipynb"
    page = root / "graded" / "feedback" / student / LESSON / f"{LESSON}.html"
    seconds = page.stat().st_mtime - autograded.stat().st_mtime
    assert seconds < max(20.0, 2 * TEST_LIMITS["cell_timeout"]), f"its feedback took {seconds:.0f} s to write"

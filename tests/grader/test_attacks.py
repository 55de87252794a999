"""No attack in the corpus scores more than the same wrong answers without it; honest work keeps full marks."""
from __future__ import annotations

import time

import pytest

from grader.processes import processes_of
from grader.sandbox import UID_RANGE
from tests.grader.attacks import ATTACKS, CARRIER, WRONG
from tests.support.grading import grade_batch, total
from tests.support.submissions import answered

LESSON = "02_cross_entropy"


def _attacked(code: str):
    return answered(LESSON, {**WRONG, CARRIER: WRONG[CARRIER] + "\n" + code})


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    entries = {"honest_1": answered(LESSON), "wrong_baseline": answered(LESSON, WRONG)}
    entries.update({f"attack_{name}": _attacked(code) for name, code in ATTACKS.items()})
    entries["honest_2"] = answered(LESSON)
    rows = grade_batch(root, LESSON, entries)
    csv_before = (root / "graded" / "grades.csv").read_bytes()
    return root, rows, csv_before


def test_the_corpus_is_large_enough():
    assert len(ATTACKS) >= 40


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


@pytest.mark.slow
def test_interference_is_reported_as_tampering(batch):
    _, rows, _ = batch
    for attack in ("input_transformer_blanks_tests", "ast_transformer_drops_checks", "observe_replaced_by_silence",
                   "forged_reports_published", "display_publisher_muted"):
        assert any(r.status == "tampered" for r in rows[f"attack_{attack}"]), attack


@pytest.mark.slow
def test_nothing_outlives_the_batch_or_edits_its_results(batch):
    root, _, csv_before = batch
    time.sleep(10)  # longer than the forked attacker waits before writing
    assert all(not processes_of(uid) for uid in UID_RANGE[:8]), "every sandbox process is gone"
    assert (root / "graded" / "grades.csv").read_bytes() == csv_before
    assert "attacker" not in (root / "graded" / "grades.csv").read_text()
    html = root / "graded" / "feedback" / "attack_forked_process_edits_results_later" / LESSON / f"{LESSON}.html"
    assert html.read_text().startswith("<!DOCTYPE html>"), "the feedback page was not overwritten"

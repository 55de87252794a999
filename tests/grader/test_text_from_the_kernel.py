"""Text the kernel or a folder name carries that UTF-8 cannot hold (lone surrogates) is escaped
where it enters, so no page, notebook, database or CSV refuses it."""
from __future__ import annotations

import json

from grader.channel import _unpack
from grader.results import ResultStore, Row, read_csv


def test_a_lone_surrogate_from_the_kernel_is_escaped_and_a_pair_is_kept():
    data = json.dumps({"text": "bad \ud800 end", "emoji": "\U0001F600", "list": [{"\udfff": "\ud83d"}],
                       "plain": "é"}, ensure_ascii=True).encode()
    content = _unpack(data)
    assert content == {"text": "bad \\ud800 end", "emoji": "\U0001F600", "list": [{"\\udfff": "\\ud83d"}],
                       "plain": "é"}
    json.dumps(content, ensure_ascii=False).encode("utf-8")     # every string encodable


def test_grades_csv_is_written_whatever_a_folder_name_holds(tmp_path):
    odd = "student-\udcff"       # os.fsdecode of a folder name that is not UTF-8
    store = ResultStore(tmp_path / "results.db")
    store.write_csv(tmp_path / "grades.csv", [Row(odd, "01_backprop", "01_backprop", "ex", 0, 1, "missing", "x")])
    assert [r.student for r in read_csv(tmp_path / "grades.csv")] == ["student-\\udcff"]

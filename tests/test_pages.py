"""gancourse.pages: the chapter box reads the measured run time; glue refuses what a sentence cannot show."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gancourse import pages


def _times(tmp_path, rows, machine=None):
    path = tmp_path / "book_times.json"
    path.write_text(json.dumps({"machine": machine or {"date": "2026-12-01 22:04 UTC", "cpu_cores": 2, "gpu": None},
                                "notebooks": rows}), encoding="utf-8")
    return path


def test_run_time_is_read_from_the_timing_file(tmp_path):
    full = {"seconds": 312.4, "status": "ok", "measured": "2026-12-02 10:00 UTC"}
    path = _times(tmp_path, {"05_training": {"full": full}})
    rt = pages.chapter_run_time("05_training", path)
    assert rt == {"seconds": 312.4, "measured": "2026-12-02 10:00 UTC", "cpu_cores": 2, "gpu": None}
    box = pages.in_this_chapter("05_training", ["Idea one.", "Idea two."], times=path)
    assert "about 5 minutes (312 s on a 2-core CPU, measured 2026-12-02)" in box.text()
    html = box._repr_html_()
    assert html.count("<li>") == 2 and 'class="admonition tip gc-chapter-box"' in html


@pytest.mark.parametrize("row", [
    None,
    {"quick": {"seconds": 3.0, "status": "ok"}},
    {"full": {"seconds": 3.0, "status": "error: CellExecutionError"}},
    {"full": {"seconds": float("nan"), "status": "ok"}},
])
def test_no_usable_row_means_no_time_sentence(tmp_path, row):
    path = _times(tmp_path, {} if row is None else {"ch": row})
    assert pages.chapter_run_time("ch", path) is None
    box = pages.in_this_chapter("ch", ["Idea."], times=path)
    assert box.time_sentence() is None and "Running" not in box._repr_html_()


def test_missing_timing_file_is_not_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pages.timing_file() is None
    assert pages.chapter_run_time("05_training") is None


def test_timing_file_is_found_from_a_subfolder(tmp_path, monkeypatch):
    path = tmp_path / "benchmarks" / "results" / "book_times.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}", encoding="utf-8")
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    assert pages.timing_file() == path.resolve()


def test_broken_timing_file_names_the_file(tmp_path):
    bad = tmp_path / "times.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"times\.json.*JSON"):
        pages.chapter_run_time("ch", bad)
    bad.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="'notebooks' table"):
        pages.chapter_run_time("ch", bad)


def test_the_shipped_timing_file_covers_every_chapter():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for notebook in sorted((root / "book").glob("*.ipynb")):
        rt = pages.chapter_run_time(notebook.stem, root / "benchmarks" / "results" / "book_times.json")
        assert rt is not None and rt["seconds"] > 0, f"no full-size time for {notebook.stem}: run make bench-book"


@pytest.mark.parametrize("ideas, error", [("one string", TypeError), ([], ValueError), (["ok", " "], ValueError),
                                          (["ok", 3], ValueError)])
def test_ideas_must_be_sentences(ideas, error, tmp_path):
    with pytest.raises(error):
        pages.in_this_chapter("ch", ideas, times=_times(tmp_path, {}))


@pytest.mark.parametrize("seconds, words", [(20, "under a minute"), (70, "about a minute"), (806, "about 13 minutes")])
def test_durations_in_words(seconds, words):
    assert pages._duration(seconds) == words


def test_glue_keeps_plain_numbers(monkeypatch):
    assert pages.glue("a_tensor", torch.tensor(2.5)) == 2.5
    assert pages.glue("np-int", np.int64(7)) == 7 and isinstance(pages.GLUED["np-int"], int)
    assert pages.GLUED["a_tensor"] == 2.5
    assert pages.glue("words", "ten modes") == "ten modes"


@pytest.mark.parametrize("value", [math.nan, math.inf, torch.tensor(float("nan"))])
def test_glue_refuses_non_finite_numbers(value):
    with pytest.raises(ValueError, match="not a finite number"):
        pages.glue("bad", value)


@pytest.mark.parametrize("name", ["", "two words", "a.b", 3])
def test_glue_names_are_plain(name):
    with pytest.raises(ValueError, match="glue name"):
        pages.glue(name, 1.0)

"""Reading benchmark results back: finding the folder, clear errors, tidy rows and Markdown tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gancourse import results as R

ROOT = Path(__file__).resolve().parents[1]

MACHINE = {"date": "2026-12-01 23:57 UTC", "processor": "Test CPU", "cpu_cores": 2, "torch_threads": 2,
           "bf16_native": False, "gpu": None, "fp32_matmul_gflops": 200.0, "bf16_matmul_gflops": 100.0}


def _loop(steps, ratio, gflop=None, peak=None):
    r = {"steps_per_s_wall": steps, "ratio_wall": ratio, "steps_per_s_cpu": steps / 2, "ratio_cpu": ratio}
    if gflop is not None:
        r.update(gflop_per_step=gflop, fraction_of_fp32_peak=peak)
    return r


THROUGHPUT = {
    "machine": MACHINE,
    "cases": {
        "dcgan": {"loops": {"baseline": _loop(10.0, 1.0, 10.0, 0.5), "gancourse --fast": _loop(12.0, 1.2, 10.0, 0.6)},
                  "ceiling_steps_per_s": 20.0, "ceiling_ratio": 2.0},
        "mlp": {"loops": {"baseline": _loop(100.0, 1.0), "gancourse --fast": _loop(150.0, 1.5)},
                "ceiling_steps_per_s": 500.0, "ceiling_ratio": 5.0},
    },
}

TIME_TO_QUALITY = {
    "machine": MACHINE,
    "cases": {
        "ring": {"0": {"loops": {
            "baseline": {"reached": {"80%": {"step": 250, "wall_s": 2.5, "cpu_s": 5.0}, "90%": None},
                         "curve": [[250, 2.5, 5.0, 8, 85.0], [500, 5.0, 10.0, 8, 88.4]]},
        }}},
        "mnist-dcgan": {"0": {"fcd_target": 400.0, "loops": {
            "baseline": {"reached": {"step": 400, "wall_s": 37.25, "cpu_s": 74.0}, "final_fcd": 327.3,
                         "final_step": 600, "curve": []},
            "slow": {"reached": None, "final_fcd": 512.0, "final_step": 600, "curve": []},
        }}},
    },
}

BOOK_TIMES = {
    "machine": MACHINE,
    "modes": ["quick", "full"],
    "notebooks": {
        "01_intro": {"quick": {"seconds": 10.5, "status": "ok"}, "full": {"seconds": 600.0, "status": "ok"}},
        "02_next": {"quick": {"seconds": 20.0, "status": "failed"}},
    },
}


@pytest.fixture
def folder(tmp_path):
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    for name, data in (("throughput", THROUGHPUT), ("time_to_quality", TIME_TO_QUALITY), ("book_times", BOOK_TIMES)):
        (results / f"{name}.json").write_text(json.dumps(data))
    return results


# ------------------------------------------------------------------ finding and loading


def test_results_folder_is_found_from_below(folder, monkeypatch):
    book = folder.parents[1] / "book"
    book.mkdir()
    assert R.results_folder(book) == folder.resolve()
    monkeypatch.chdir(book)
    assert R.results_folder() == folder.resolve()
    assert R.load_result("throughput")["cases"].keys() == {"dcgan", "mlp"}


def test_no_folder_gives_none_and_a_clear_error(tmp_path, monkeypatch):
    assert R.results_folder(tmp_path) is None
    monkeypatch.chdir(tmp_path)
    with pytest.raises(R.MissingResults, match="make bench"):
        R.load_result("throughput")


def test_missing_file_is_named(folder):
    (folder / "throughput.json").unlink()
    with pytest.raises(R.MissingResults, match="throughput.json"):
        R.load_result("throughput", folder)
    with pytest.raises(FileNotFoundError):  # MissingResults is a FileNotFoundError
        R.throughput_table(folder)


@pytest.mark.parametrize("text, problem", [
    ("{not json", "cannot be read as JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"machine": MACHINE}), "has no 'cases' table"),
    (json.dumps({"cases": {}}), "has no 'machine' record"),
])
def test_malformed_file_is_named(folder, text, problem):
    (folder / "throughput.json").write_text(text)
    with pytest.raises(R.ResultsError, match=problem) as err:
        R.load_result("throughput", folder)
    assert "throughput.json" in str(err.value)


def test_bad_value_inside_a_file_is_named(folder):
    broken = json.loads(json.dumps(THROUGHPUT))
    broken["cases"]["dcgan"]["loops"]["baseline"]["ratio_wall"] = "fast"
    (folder / "throughput.json").write_text(json.dumps(broken))
    message = r"throughput.json: case 'dcgan', loop 'baseline' has no valid 'ratio_wall'"
    with pytest.raises(R.ResultsError, match=message):
        R.throughput_table(folder)


def test_unknown_name_is_refused(folder):
    with pytest.raises(ValueError, match="unknown results name"):
        R.load_result("speed", folder)


# ------------------------------------------------------------------ rows


def test_throughput_rows(folder):
    rows = R.throughput_rows(R.load_result("throughput", folder))
    assert [(r["case"], r["loop"]) for r in rows] == [("dcgan", "baseline"), ("dcgan", "gancourse --fast"),
                                                     ("mlp", "baseline"), ("mlp", "gancourse --fast")]
    assert rows[1]["ratio"] == 1.2 and rows[1]["fraction_of_peak"] == 0.6 and rows[1]["steps_per_s_cpu"] == 6.0
    assert rows[2]["gflop_per_step"] is None and rows[2]["fraction_of_peak"] is None


def test_ceiling_rows(folder):
    rows = R.ceiling_rows(R.load_result("throughput", folder))
    assert rows[0] == {"case": "dcgan", "fp32_gflops": 200.0, "bf16_gflops": 100.0, "ceiling_steps_per_s": 20.0,
                       "ceiling_ratio": 2.0, "fast_ratio": 1.2}


def test_time_to_quality_rows(folder):
    rows = R.time_to_quality_rows(R.load_result("time_to_quality", folder))
    ring = [r for r in rows if r["case"] == "ring"]
    assert [r["bar"] for r in ring] == ["8 modes, >= 80% HQ", "8 modes, >= 90% HQ"]
    assert ring[0]["wall_s"] == 2.5 and ring[0]["step"] == 250 and ring[1]["wall_s"] is None
    assert ring[0]["at_end"] == "8 modes, 88% HQ at step 500"
    digits = [r for r in rows if r["case"] == "mnist-dcgan"]
    assert digits[0]["bar"] == "FCD <= 400, 10 classes" and digits[0]["cpu_s"] == 74.0
    assert digits[1]["wall_s"] is None and digits[1]["at_end"] == "FCD 512.0 at step 600"


def test_book_times_rows(folder):
    rows = R.book_times_rows(R.load_result("book_times", folder))
    assert rows == [{"chapter": "01_intro", "quick": 10.5, "full": 600.0},
                    {"chapter": "02_next", "quick": None, "full": None}]


# ------------------------------------------------------------------ Markdown


def test_markdown_table_shape_and_escaping():
    text = R.markdown_table([{"a": 1, "b": "x|y"}], {"a": "A", "b": "B"})
    assert text.splitlines() == ["| A | B |", "|---|---|", "| 1 | x\\|y |"]
    with pytest.raises(KeyError, match="'b'"):
        R.markdown_table([{"a": 1}], {"a": "A", "b": "B"})


def _assert_pipe_table(text, n_rows):
    lines = text.splitlines()
    assert lines[1].startswith("|---") and len(lines) == n_rows + 2
    assert len({line.count(" | ") for line in lines if not line.startswith("|---")}) == 1


def test_tables(folder):
    throughput = R.throughput_table(folder)
    _assert_pipe_table(throughput, 4)
    assert "| dcgan | gancourse --fast | 12.0 | 1.20x | 1.20x | 10.000 | 60% |" in throughput
    ceiling = R.ceiling_table(folder)
    _assert_pipe_table(ceiling, 2)
    assert "| dcgan | 20 | 2.00x | 1.20x |" in ceiling
    ttq = R.time_to_quality_table(folder)
    _assert_pipe_table(ttq, 4)
    assert "not reached" in ttq
    book = R.book_times_table(folder)
    _assert_pipe_table(book, 3)
    assert "| 01_intro | 10 s | 10.0 min |" in book and "not run" in book and "**total**" in book


def test_tables_accept_loaded_data(folder):
    data = R.load_result("throughput", folder)
    assert R.throughput_table(data) == R.throughput_table(folder)


def test_machine_summary(folder):
    text = R.machine_summary(R.load_result("throughput", folder))
    assert text == ("Measured 2026-12-01 23:57 UTC on Test CPU, 2 cores, 2 PyTorch threads, "
                    "bfloat16 matrix hardware: no, no GPU.")


def test_shipped_results_read_cleanly():
    """The results committed with the repository give every table (when they are there)."""
    folder = ROOT / "benchmarks" / "results"
    if not (folder / "throughput.json").is_file():
        pytest.skip("no committed benchmark results")
    for table in (R.throughput_table, R.ceiling_table, R.time_to_quality_table, R.book_times_table):
        assert table(folder).count("\n") >= 3

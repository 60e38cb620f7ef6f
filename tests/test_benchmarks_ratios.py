"""The RATIO lines the side-by-side benchmarks print and run_all's table of them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from ratios import parse_ratios, ratio_line
from run_all import ratio_table


def test_ratio_lines_round_trip_among_other_output():
    text = "\n".join(["round 1/1 trl: 0.6 samples/s", ratio_line("train_vs_trl", 2.944, "a / b"),
                      "RATIO name=broken", ratio_line("eval_vs_lmms_batch1", None, "not run"),
                      "  " + ratio_line("score_vs_goal", 0.123456)])
    assert parse_ratios(text) == [("train_vs_trl", 2.944, "a / b"),
                                  ("eval_vs_lmms_batch1", None, "not run"),
                                  ("score_vs_goal", 0.1235, "")]


def test_ratio_table_has_a_column_per_size_and_marks_gaps():
    table = ratio_table({"train_vs_trl": {"x1": (2.5, "n1"), "x4": (3.0, "n4")},
                         "eval_vs_lmms_batch1": {"x1": (None, "lmms-eval not run"),
                                                 "x2": (None, "lmms-eval not run")}})
    lines = table.strip().splitlines()
    assert lines[0] == "| ratio | x1 | x4 | x2 | what |"
    assert lines[2] == "| train_vs_trl | 2.5 | 3 | - | n4 |"
    assert lines[3] == "| eval_vs_lmms_batch1 | skipped | - | skipped | lmms-eval not run |"
    assert "no RATIO lines" in ratio_table({})

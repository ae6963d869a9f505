"""benchmarks/downstream_cpu.py: the paired statistics and the checks made before any work."""

from __future__ import annotations

import pytest


def pair(base: float, sft: float) -> dict[str, dict[str, float | bool]]:
    return {
        "base": {"recall": base, "f1": base, "em": 0.0, "answered": False},
        "sft": {"recall": sft, "f1": sft, "em": 0.0, "answered": True},
    }


def test_summary_pairs_questions_and_brackets_the_difference() -> None:
    from benchmarks.downstream_cpu import summarize

    # question "10" sorts after "9" numerically: the summary pairs by question, not by position
    done = {str(i): pair(0.0, 1.0 if i % 2 else 0.0) for i in range(12)} | {"10": pair(0.5, 0.0)}
    summary = summarize(done, resamples=2000, seed=0)
    assert summary["questions"] == 12
    diff = summary["sft_minus_base"]["recall"]
    expected = (6 - 0.5) / 12  # six wins of 1.0 (odd i, 11 included), one loss of 0.5 (question 10)
    assert diff["mean"] == pytest.approx(expected, abs=1e-4)
    assert (diff["wins"], diff["losses"]) == (6, 1)
    assert diff["ci95"][0] <= diff["mean"] <= diff["ci95"][1]
    assert summary["models"]["sft"]["answered"] == 1.0 and summary["models"]["base"]["answered"] == 0.0
    em = summary["sft_minus_base"]["em"]
    assert em["mean"] == 0.0 and em["ci95"] == [0.0, 0.0] and not em["excludes_zero"]


def test_bad_settings_fail_before_any_model_is_trained(tmp_path) -> None:
    from benchmarks.downstream_cpu import Args, main

    with pytest.raises(SystemExit, match="is a directory"):
        main(Args(out=str(tmp_path)))
    with pytest.raises(SystemExit, match="only 310 questions"):
        main(Args(out=str(tmp_path / "r.json"), questions=311))
    with pytest.raises(SystemExit, match="no model folder"):
        main(Args(out=str(tmp_path / "r.json"), sft_model=str(tmp_path / "missing")))
    assert not (tmp_path / "r.json").exists()

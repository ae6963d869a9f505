"""benchmarks/_common.py: the label-file reader the benchmark scripts share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_labelled_rows_skip_blank_lines_and_name_file_and_line_of_a_bad_row(tmp_path: Path) -> None:
    from _common import labelled_rows

    path = tmp_path / "labels.jsonl"
    good = {"gold": "Paris", "label": 1}
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({"gold": "Lyon", "label": "yes"}) + "\n", encoding="utf-8")
    rows = labelled_rows(path, {"gold": str, "label": int})
    assert next(rows) == (1, good)
    with pytest.raises(ValueError, match=r"labels\.jsonl:3: field 'label' must be int, got 'yes'"):
        next(rows)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"labels\.jsonl:1: not JSON"):
        list(labelled_rows(path, {}))


def test_an_unreadable_labels_file_is_one_error_naming_it(tmp_path: Path) -> None:
    from _common import labelled_rows

    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b'{"gold": "a"}\n\xeb\xff\xfe\n')
    listed = tmp_path / "list.jsonl"
    listed.write_text('{"gold": "a"}\n[1, 2]\n', encoding="utf-8")
    for path, message in ((tmp_path / "missing.jsonl", "cannot read the labels"), (tmp_path, "cannot read the labels"),
                          (binary, "not UTF-8 text"), (listed, "list.jsonl:2: not a JSON object")):
        with pytest.raises(ValueError, match=message):
            list(labelled_rows(path, {"gold": str}))


def test_a_field_may_take_one_of_several_types(tmp_path: Path) -> None:
    from _common import labelled_rows

    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps({"label": v}) + "\n" for v in (True, None, "yes")), encoding="utf-8")
    rows = labelled_rows(path, {"label": (bool, type(None))})
    assert [row["label"] for _, row in (next(rows), next(rows))] == [True, None]
    with pytest.raises(ValueError, match=r"labels\.jsonl:3: field 'label' must be bool or NoneType, got 'yes'"):
        next(rows)


@pytest.mark.parametrize(("code", "signal_name"), [("pass", "SIGTERM"),
                                                  ("signal.signal(signal.SIGTERM, signal.SIG_IGN)", "SIGKILL")])
def test_stop_terminates_a_server_and_kills_one_that_ignores_it(code: str, signal_name: str) -> None:
    import signal
    import subprocess
    import sys
    import time

    from _common import stop

    proc = subprocess.Popen([sys.executable, "-c", f"import signal, time; {code}; print(flush=True); time.sleep(60)"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "\n"  # the child is past its signal set-up
    started = time.monotonic()
    stop(proc, timeout=0.5)
    assert proc.returncode == -getattr(signal, signal_name)
    assert time.monotonic() - started < 10

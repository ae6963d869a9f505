"""Atomic writes: a failure leaves the old file (or nothing), never a half-written one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ramp_env.cache import atomic_path, atomic_write_text, cache_root, file_fingerprint


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "results.jsonl"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]


def test_directory_build_is_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "index"
    with pytest.raises(KeyboardInterrupt), atomic_path(target, is_dir=True) as tmp:
        (tmp / "part").write_text("x")
        raise KeyboardInterrupt
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_path(target, is_dir=True) as tmp:
        (tmp / "part").write_text("x")
    assert (target / "part").read_text() == "x"


def test_cache_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMP_ENV_CACHE", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env"
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"


def test_fingerprint_sees_edits(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"a" * (3 << 20))
    before = file_fingerprint(path)
    data = bytearray(path.read_bytes())
    data[-10] = ord("b")
    path.write_bytes(bytes(data))
    assert file_fingerprint(path) != before
    assert file_fingerprint(path, extra="x") != file_fingerprint(path)

"""Damaged prepared corpora: every kind of damage is one CacheIntegrityError naming the file and
the command that rebuilds it, never a raw SQLite/tantivy/JSON error, a KeyError or a silent pass.

Opening checks sizes and the first/last 64 KiB of every artefact; ``verify()``
(``ramp-env build-index --verify``) hashes every byte. A source file edited in
place (same size, bytes past the first MiB) gets a new fingerprint, so the old
text is never served.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path

import pytest

from ramp_env.cli import main
from ramp_env.corpus.integrity import CacheIntegrityError
from ramp_env.corpus.prepared import PreparedCorpus
from tests.robustness._workers import CapitalisedSpans, write_corpus

N_PASSAGES = 4000  # a store of ~600 KB: bytes past its first and last 64 KiB exist


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus file, cache) with the store, a span table and the tantivy index built once."""
    root = tmp_path_factory.mktemp("integrity")
    corpus_file = root / "corpus.jsonl"
    write_corpus(corpus_file, N_PASSAGES)
    cache = root / "cache"
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    corpus.span_table(CapitalisedSpans())
    corpus.retriever("tantivy")
    return corpus_file, cache


@pytest.fixture()
def damaged(pristine: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of the pristine cache to damage: (corpus file, cache, prepared directory)."""
    corpus_file, cache = pristine
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    (directory,) = (copy / "corpora").iterdir()
    return corpus_file, copy, directory


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def open_all(corpus_file: Path, cache: Path) -> PreparedCorpus:
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    corpus.span_table(CapitalisedSpans())
    corpus.retriever("tantivy").search("river castle", 5)
    return corpus


def assert_names(error: CacheIntegrityError, path: Path, cache: Path) -> None:
    message = str(error)
    assert str(path) in message and "ramp-env build-index --corpus" in message and str(cache) in message


def tantivy_file(directory: Path, suffix: str) -> Path:
    return min((directory / "index-tantivy-v1").glob(f"*{suffix}"))


DAMAGE = {
    "store-header-flipped": ("passages.sqlite", lambda p: flip(p, 100)),
    "store-tail-flipped": ("passages.sqlite", lambda p: flip(p, -10)),
    "store-truncated": ("passages.sqlite", truncate),
    "spans-header-flipped": ("spans-test-capitalised-v1.sqlite", lambda p: flip(p, 20)),
    "spans-truncated": ("spans-test-capitalised-v1.sqlite", truncate),
    "spans-tail-flipped": ("spans-test-capitalised-v1.sqlite", lambda p: flip(p, -100)),
    "tantivy-terms-flipped": (".term", lambda p: flip(p, -3)),
    "tantivy-store-truncated": (".store", truncate),
    "tantivy-meta-edited": ("meta.json", lambda p: p.write_text(p.read_text().replace('"opstamp"', '"opstamp" '))),
    "tantivy-file-deleted": (".idx", lambda p: p.unlink()),
}


@pytest.mark.parametrize("target, damage", list(DAMAGE.values()), ids=list(DAMAGE))
def test_damage_seen_on_open_names_the_file_and_the_fix(damaged, target: str, damage) -> None:
    corpus_file, cache, directory = damaged
    path = directory / target if not target.startswith(".") and target != "meta.json" else (
        directory / "index-tantivy-v1" / "meta.json" if target == "meta.json" else tantivy_file(directory, target))
    damage(path)
    with pytest.raises(CacheIntegrityError) as err:
        open_all(corpus_file, cache)
    # a deleted file inside the index is reported on the index directory that lost it
    assert_names(err.value, path if path.exists() else path.parent if "index" in str(path) else path, cache)


@pytest.mark.parametrize("target", ["passages.sqlite", "spans-test-capitalised-v1.sqlite"])
def test_damage_past_the_edges_is_found_by_verify(damaged, target: str) -> None:
    # (this corpus's tantivy files are under 128 KiB: the open-time check above reads all of them)
    corpus_file, cache, directory = damaged
    path = directory / target
    size = path.stat().st_size
    assert size > 2 * 65536, "the file must have bytes the cheap check does not read"
    flip(path, size // 2)
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    corpus.span_table(CapitalisedSpans())
    with pytest.raises(CacheIntegrityError, match="SHA-256") as err:  # the cheap check passed: verify hashes all
        corpus.verify()
    assert_names(err.value, path, cache)


def test_build_index_verify_reports_damage_and_fails(damaged, capsys) -> None:
    corpus_file, cache, directory = damaged
    args = ["build-index", "--corpus", str(corpus_file), "--cache-dir", str(cache), "--no-spans"]
    assert main([*args, "--verify"]) == 0
    assert json.loads(capsys.readouterr().out)["verified_files"] == 4
    store = directory / "passages.sqlite"
    flip(store, store.stat().st_size // 2)
    assert main(args) == 0  # the cheap check on open does not read the middle
    capsys.readouterr()
    assert main([*args, "--verify"]) == 1
    err = capsys.readouterr().err
    assert str(store) in err and "build-index --corpus" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "damage",
    [lambda p: flip(p, 5), lambda p: p.write_bytes(b"\xff\xfe" + p.read_bytes()), truncate,
     lambda p: p.write_text(p.read_text().replace(f'"passages": {N_PASSAGES}', '"passages": 3999'))],
    ids=["flipped", "bad-utf8", "truncated", "valid-json-edited"],
)
def test_a_damaged_manifest_is_named(damaged, damage) -> None:
    corpus_file, cache, directory = damaged
    manifest = directory / "manifest.json"
    damage(manifest)
    with pytest.raises(CacheIntegrityError) as err:
        PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    assert_names(err.value, manifest, cache)


def test_an_index_swapped_in_from_another_corpus_is_refused(damaged, tmp_path: Path) -> None:
    corpus_file, cache, directory = damaged
    other_file = tmp_path / "other.jsonl"
    write_corpus(other_file, N_PASSAGES + 500)  # more rows than this store: a search would hit missing rows
    other = PreparedCorpus.open(other_file, cache_dir=tmp_path / "other-cache", progress=False)
    other.retriever("tantivy")
    shutil.rmtree(directory / "index-tantivy-v1")
    shutil.copytree(other.index_dir(), directory / "index-tantivy-v1")
    with pytest.raises(CacheIntegrityError) as err:  # the index alone: its files are not the recorded ones
        open_all(corpus_file, cache)
    assert_names(err.value, directory / "index-tantivy-v1", cache)
    record = directory / "integrity" / "index-tantivy-v1.json"
    shutil.copyfile(other.directory / "integrity" / "index-tantivy-v1.json", record)
    with pytest.raises(CacheIntegrityError, match="built for another corpus"):  # with its record: wrong store
        open_all(corpus_file, cache)


def test_an_index_without_a_record_is_checked_against_the_store(damaged, tmp_path: Path) -> None:
    corpus_file, cache, directory = damaged
    other_file = tmp_path / "other.jsonl"
    write_corpus(other_file, N_PASSAGES + 500)
    other = PreparedCorpus.open(other_file, cache_dir=tmp_path / "other-cache", progress=False)
    other.retriever("tantivy")
    shutil.rmtree(directory / "index-tantivy-v1")
    shutil.copytree(other.index_dir(), directory / "index-tantivy-v1")
    (directory / "integrity" / "index-tantivy-v1.json").unlink()  # resealed as found, then...
    with pytest.raises(CacheIntegrityError, match="indexes 4500 passages, the store has 4000"):
        open_all(corpus_file, cache)


def test_malformed_pages_at_query_time_are_an_integrity_error(damaged) -> None:
    corpus_file, cache, directory = damaged
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    store = directory / "passages.sqlite"
    page = 4096
    with sqlite3.connect(store) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(store.read_bytes())
    middle = (len(data) // page // 2) * page
    data[middle : middle + page] = b"\xff" * page  # a whole b-tree page destroyed
    store.write_bytes(bytes(data))
    fresh = PreparedCorpus(directory, progress=False)  # same size and edges: opens
    with pytest.raises(CacheIntegrityError) as err:
        fresh.store.get_many(list(range(1, len(corpus.store) + 1)))
    assert str(store) in str(err.value) and "build-index" in str(err.value)


def test_an_edit_past_the_first_mib_prepares_the_corpus_again(tmp_path: Path, caplog) -> None:
    path = tmp_path / "mid.jsonl"
    write_corpus(path, 10_000)  # ~1.5 MiB: the old fingerprint hashed only the first MiB of such files
    size = path.stat().st_size
    assert 1 << 20 < size < 2 << 20
    first = PreparedCorpus.open(path, cache_dir=tmp_path / "cache", progress=False)
    data = path.read_bytes()
    at = data.index(b"Name9000 ")
    path.write_bytes(data[:at] + b"Edit9000 " + data[at + 9 :])  # same size, past the first MiB
    assert path.stat().st_size == size
    with caplog.at_level(logging.WARNING, logger="ramp_env.corpus.prepared"):
        second = PreparedCorpus.open(path, cache_dir=tmp_path / "cache", progress=False)
    assert second.directory != first.directory
    assert "Edit9000" in second.store.get(9001).text and "Edit9000" not in first.store.get(9001).text
    assert any("changed since it was prepared" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("options", "expected", "absent"),
    [
        (["--skip-bad-lines", "--no-spans"], ["--skip-bad-lines", "--no-spans"], ["--span-extractor"]),
        (["--span-extractor", "rules"], ["--span-extractor rules"], ["--skip-bad-lines", "--no-spans"]),
    ],
)
def test_rebuild_command_repeats_the_build_options_and_rebuilds(
    tmp_path: Path, options: list[str], expected: list[str], absent: list[str]
) -> None:
    import shlex
    import subprocess
    import sys

    def run(command: str) -> subprocess.CompletedProcess[str]:  # a new process: nothing opened is reused
        return subprocess.run(command.replace("ramp-env ", f"{shlex.quote(sys.executable)} -m ramp_env "),
                              shell=True, capture_output=True, text=True, timeout=600, check=False,
                              env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})

    corpus_file = tmp_path / "corpus.jsonl"
    write_corpus(corpus_file, 50)
    if "--skip-bad-lines" in options:
        with open(corpus_file, "a", encoding="utf-8") as fh:
            fh.write("{not json\n")
    cache = tmp_path / "cache"
    build = shlex.join(["ramp-env", "build-index", "--corpus", str(corpus_file), "--cache-dir", str(cache), *options])
    assert run(build).returncode == 0
    (directory,) = (cache / "corpora").iterdir()
    flip(directory / "passages.sqlite", 100)
    damaged = run(build)
    assert damaged.returncode == 1, damaged.stderr
    command = damaged.stderr.split("Rebuild it with: ", 1)[1].strip()
    for option in expected:
        assert option in command, command
    for option in absent:
        assert option not in command, command
    # the printed command, run as printed, rebuilds the same prepared corpus
    rebuilt = run(command)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert [p.name for p in (cache / "corpora").iterdir()] == [directory.name]
    assert run(build).returncode == 0
